"""The simulator's one clock: simulated time that runs ``speed`` times faster than wall time.

Everything time-based in the simulated world (ring times, dial timeouts, playback lengths,
DTMF moments, talk time) waits on this clock, so a test can run a 30 s call in a fraction of
a second without sleeps standing in for events. Simulated time starts at the real "now".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any


class SimClock:
    """Simulated wall-clock time: starts at the real epoch time and advances at ``speed``."""

    def __init__(self, speed: float = 1.0, tz: tzinfo | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self.tz = tz or UTC
        self._epoch0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self._epoch0 + (time.monotonic() - self._mono0) * self.speed

    def elapsed(self) -> float:
        """Simulated seconds since the clock started (timeline times use this)."""
        return (time.monotonic() - self._mono0) * self.speed

    def wall(self, sim_seconds: float) -> float:
        """Wall-clock seconds that ``sim_seconds`` of simulated time take."""
        return max(0.0, sim_seconds) / self.speed

    async def sleep(self, sim_seconds: float) -> None:
        """Wait ``sim_seconds`` of simulated time."""
        await asyncio.sleep(self.wall(sim_seconds))

    def call_later(
        self, sim_seconds: float, callback: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        """Run ``callback(*args)`` after ``sim_seconds`` of simulated time."""
        loop = asyncio.get_running_loop()
        return loop.call_later(self.wall(sim_seconds), callback, *args)

    async def wait_for(self, aw: Any, sim_timeout: float | None) -> Any:
        """``asyncio.wait_for`` with a timeout in simulated seconds (None: no timeout)."""
        if sim_timeout is None:
            return await aw
        return await asyncio.wait_for(aw, self.wall(sim_timeout))

    def timestamp(self, epoch: float | None = None) -> str:
        """Asterisk's time format ``%FT%T.%q%z``, e.g. ``2025-03-01T14:05:09.123+0000``."""
        t = self.now() if epoch is None else epoch
        dt = datetime.fromtimestamp(t, self.tz)
        millis = f"{dt.microsecond // 1000:03d}"
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + millis + dt.strftime("%z")
