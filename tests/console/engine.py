"""The console as a running engine serves it: the engine with its built-in simulator (ARI
and AMI over real sockets), its HTTP endpoint on a free port carrying the API and the
console, on a fresh database holding the API tests' seed and a missed inbound call. The
console's calls are placed by the engine's own dialer, as in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ivr_engine.calls.outbound_engine import EngineDialer, Finished
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, PromptSettings, Settings
from ivr_engine.sim import Simulator
from tests.api.conftest import seed, store_missed_call

ROOT = Path(__file__).resolve().parents[2]
SPEED = 20.0


@dataclass
class EngineConsole:
    """A started engine, its simulator and the console's address."""

    engine: RunningEngine
    base: str
    users: dict[str, int]

    @property
    def sim(self) -> Simulator:
        assert self.engine.sim is not None
        return self.engine.sim

    @property
    def dialer(self) -> EngineDialer:
        assert self.engine.dialer is not None
        return self.engine.dialer

    async def finished(self, call_id: str, timeout: float = 15.0) -> Finished:  # noqa: ASYNC109
        """The end of an outbound call the engine placed."""
        async with asyncio.timeout(timeout):
            while call_id not in self.dialer.finished:
                task = self.dialer.calls.get(call_id)
                if task is None:
                    raise AssertionError(f"{call_id} is neither running nor finished")
                await asyncio.wait([task])
        return self.dialer.finished[call_id]


def simulated_clock(speed: float) -> Callable[[], datetime]:
    """The clock the simulator runs on: from now, ``speed`` times faster than the wall (so
    talk limits and charged minutes count simulated seconds)."""
    loop = asyncio.get_running_loop()
    t0, base = loop.time(), datetime.now(UTC)
    return lambda: base + timedelta(seconds=(loop.time() - t0) * speed)


@asynccontextmanager
async def engine_console(db_url: str, data_dir: Path) -> AsyncIterator[EngineConsole]:
    """Start the engine (simulator inside), seed the database, yield, stop."""
    settings = Settings(
        database_url=db_url,
        data_dir=str(data_dir),
        http_port=0,
        agi=AgiSettings(port=0),
        prompts=PromptSettings(sounds_dir=str(ROOT / "sounds")),
    )
    async with running_engine(settings, sim_speed=SPEED, drain_timeout=2) as engine:
        users = await seed(engine.db.pool)
        await store_missed_call(engine.db.pool)
        engine.cache.clear()
        engine.env.time_scale = SPEED
        engine.env.clock = simulated_clock(SPEED)
        assert engine.http is not None
        host, port = engine.http.addresses[0][:2]
        yield EngineConsole(engine, f"http://{host}:{port}", users)
