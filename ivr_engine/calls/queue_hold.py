"""Where a queue caller waits: alone in a holding bridge with music on hold or the queue's
coloring looped, interrupted by the periodic announcement.

The announcement is the queue's prompt (else the system prompt "queue-wait"), followed by
the caller's position and the expected wait in minutes (``number:`` media, spoken in the
channel's language) when the queue announces them. The music is stopped while it plays and
before the caller leaves the bridge (a running playback would hold the caller's commands).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import PlaybackFinished
from ivr_engine.calls.legs import race

if TYPE_CHECKING:
    from ivr_engine.calls.queue import QueueCall

log = logging.getLogger(__name__)


def _playback_is(playback_id: str) -> Callable[[PlaybackFinished], bool]:
    """A waiter predicate: the PlaybackFinished of this playback."""

    def match(event: PlaybackFinished) -> bool:
        return event.playback.id == playback_id

    return match


class Holding:
    """The caller's holding bridge and what plays in it."""

    def __init__(self, call: QueueCall) -> None:
        self.call = call
        self.s = call.s
        self.env = call.env
        self.ari = call.env.ari
        self.bridge_id = f"queue-hold-{self.s.channel_id}"
        self.coloring = (
            self.env.media.for_prompt(call.q.coloring) if call.q.coloring is not None else None
        )
        self._ids = itertools.count(1)
        self._loop: asyncio.Task[None] | None = None
        self._current: str | None = None
        self._stopping = False
        self.open = False

    async def start(self) -> None:
        """Create the bridge, put the caller in it and start the music."""
        await self.ari.create_bridge(
            "holding", bridge_id=self.bridge_id, name=f"queue-{self.call.q.id}"
        )
        self.open = True
        await race(
            self.ari.add_channel(self.bridge_id, self.s.channel_id, role="participant"),
            self.s.watch,
            timeout=self.env.request_timeout,
        )
        await self._music_on()
        self.s.note(
            "hold",
            "waiting with " + (self.coloring or f"music on hold ({self.call.q.moh_class})"),
            media=self.coloring or f"moh:{self.call.q.moh_class}",
        )

    async def _music_on(self) -> None:
        self._stopping = False
        if self.coloring is not None:
            self._loop = asyncio.create_task(
                self._color(self.coloring), name=f"queue-hold-{self.bridge_id}"
            )
        else:
            await self.ari.start_bridge_moh(self.bridge_id, self.call.q.moh_class)

    async def _color(self, coloring: str) -> None:
        """Loop the coloring on the bridge until stopped."""
        while not self._stopping:
            pid = f"qc-{self.s.channel_id}-{next(self._ids)}"
            with self.env.events.expect(PlaybackFinished, _playback_is(pid)) as waiter:
                self._current = pid
                await self.ari.play_on_bridge(self.bridge_id, coloring, playback_id=pid)
                done = await waiter.wait(self.env.playback_timeout)
            if done.playback.state == "failed":
                return

    async def _music_off(self) -> None:
        self._stopping = True
        try:
            if self._loop is None:
                await self.ari.stop_bridge_moh(self.bridge_id)
                return
            if self._current is not None:
                await self.ari.stop_playback(self._current, missing_ok=True)
            try:
                await asyncio.wait_for(asyncio.shield(self._loop), self.env.request_timeout)
            except (TimeoutError, AriError) as exc:
                log.warning(
                    "call %s: the hold music did not end cleanly: %r", self.s.channel_id, exc
                )
                self._loop.cancel()
            self._loop = None
        except AriError as exc:
            log.warning("call %s: stopping the hold music failed: %s", self.s.channel_id, exc)

    async def announce(self, position: int, expected: float | None) -> None:
        """Play the periodic announcement to the caller, then resume the music."""
        q, media = self.call.q, self.env.media
        uris = [media.choose(q.announcement, "queue-wait") or media.system("queue-wait")]
        if q.announce_position:
            uris.append(f"number:{position}")
        if expected is not None:
            uris.append(f"number:{max(1, math.ceil(expected / 60))}")
        await self._music_off()
        pid = f"qa-{self.s.channel_id}-{next(self._ids)}"
        with self.env.events.expect(PlaybackFinished, _playback_is(pid)) as waiter:
            await self.ari.play_on_bridge(self.bridge_id, uris, playback_id=pid)
            await race(waiter.wait(), self.s.watch, timeout=self.env.playback_timeout)
        self.s.note(
            "play",
            f"queue announcement (position {position})",
            media=uris[0],
            label="queue-announcement",
            early_media=False,
            result="done",
        )
        await self._music_on()

    async def close(self) -> None:
        """Stop the music and destroy the bridge (the caller leaves it)."""
        if not self.open:
            return
        self.open = False
        if not self.s.watch.gone.is_set():
            await self._music_off()
        elif self._loop is not None:
            self._loop.cancel()
        try:
            await self.ari.destroy_bridge(self.bridge_id, missing_ok=True)
        except AriError as exc:
            log.warning(
                "call %s: destroying holding bridge %s failed: %s",
                self.s.channel_id,
                self.bridge_id,
                exc,
            )
