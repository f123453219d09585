"""Whole calls end to end: the engine on a real Postgres, talking ARI over real sockets to
the simulator, with the sample configuration loaded and its prompts built by espeak-ng.

``call_engine(at=...)`` starts the engine whose planner clock starts at ``at`` (Asia/Seoul
wall time) and runs at the simulator's speed, so schedule states are deterministic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.commands.db import read_document
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.trace import CallTrace
from ivr_engine.prompts.build import build_sounds, plan_jobs
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, AmiSettings, AriSettings, PromptSettings, Settings
from ivr_engine.sim import SimCall, Simulator
from ivr_engine.store.loader import load_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "sample-config.yaml"
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture(scope="session")
def built_sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample configuration's prompts, built once per test session."""
    out = tmp_path_factory.mktemp("sounds")
    jobs, refused = plan_jobs(iter_prompts(read_document(SAMPLE)), "ko", "espeak", ROOT)
    assert not refused, refused
    report = build_sounds(jobs, out, engine="espeak")
    assert not report.failures, report.summary()
    return out


@dataclass
class Harness:
    """A started engine and its simulator."""

    engine: RunningEngine
    sim: Simulator
    traces: asyncio.Queue[CallTrace]
    ended: dict[str, CallTrace] = field(default_factory=dict)  # traces taken off the queue

    async def call(self, to: str, caller: str, **kw: object) -> SimCall:
        """Place an inbound call on the simulator."""
        return await self.sim.place_call(to=to, caller=caller, **kw)  # type: ignore[arg-type]

    async def finished(self, call: SimCall, timeout: float = 10.0) -> CallTrace:  # noqa: ASYNC109
        """Wait for the caller's channel to end and the engine's trace of that call. Calls
        may end in any order: traces of other calls met on the way are kept for them."""
        await call.wait_ended(timeout)
        async with asyncio.timeout(timeout):
            while call.channel_id not in self.ended:
                trace = await self.traces.get()
                self.ended[trace.channel_id] = trace
        return self.ended.pop(call.channel_id)

    async def load_yaml(self, text: str, *, force_targets: bool = True) -> None:
        """Load a configuration document given as YAML text (targets change forced)."""
        doc = parse_document(load_yaml(text), "<test>")
        await load_document(self.engine.db.pool, doc, source="<test>", force_targets=force_targets)

    def expect_bridged(self, channel_id: str) -> Bridged:
        """Something to ``await .wait(timeout)`` on until the channel is in a bridge, as the
        simulated Asterisk sees it (the engine filters bridge events out of its stream)."""
        return Bridged(self.sim, channel_id)

    def kinds(self, channel_id: str) -> list[str]:
        """The simulator's timeline kinds for a channel, in order."""
        return [e.kind for e in self.sim.timeline(channel_id)]


@dataclass
class Bridged:
    """Waits for a channel to enter a bridge in the simulator."""

    sim: Simulator
    channel_id: str

    async def wait(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once bridged; TimeoutError after ``timeout`` seconds."""
        await self.sim.wait_bridged(self.channel_id, timeout)


EngineFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def call_engine(
    db_url: str,
    sim_factory: Callable[..., Awaitable[Simulator]],
    built_sounds: Path,
    tmp_path: Path,
) -> AsyncIterator[EngineFactory]:
    """Start an engine against a fresh simulator with the sample configuration loaded."""
    async with AsyncExitStack() as stack:

        async def start(
            at: datetime,
            *,
            sim: Simulator | None = None,
            ari_url: Callable[[Simulator], str] | None = None,
            database_url: str | None = None,
            load: bool = True,
            ami_event_filter: bool | None = None,
        ) -> Harness:
            if sim is None:
                sim = await sim_factory(
                    sounds_dirs=(
                        str(built_sounds),
                        str(ROOT / "sounds"),
                        str(ROOT / "sounds" / "sim"),
                    )
                )
            url = ari_url(sim) if ari_url is not None else sim.ari_url
            settings = Settings(
                database_url=database_url or db_url,
                data_dir=str(tmp_path),
                http_port=0,
                ari=AriSettings(url=url, app="ivr-engine"),
                agi=AgiSettings(port=0),
                ami=AmiSettings()
                if ami_event_filter is None
                else AmiSettings(  # the engine on the simulator's AMI too
                    host=sim.config.host,
                    port=sim.ami_port,
                    user=sim.config.ami_user,
                    secret=sim.config.ami_secret,
                    event_filter=ami_event_filter,
                ),
                prompts=PromptSettings(sounds_dir=str(built_sounds)),
            )
            engine = await stack.enter_async_context(running_engine(settings, drain_timeout=2))
            if load:
                await load_document(engine.db.pool, read_document(SAMPLE), source=str(SAMPLE))
            engine.cache.clear()
            engine.env.clock = shifted_clock(at.replace(tzinfo=SEOUL), sim.config.speed)
            traces: asyncio.Queue[CallTrace] = asyncio.Queue()
            engine.dispatcher.on_session.append(traces)
            return Harness(engine, sim, traces)

        yield start


def shifted_clock(start: datetime, speed: float) -> Callable[[], datetime]:
    """A clock that starts at ``start`` and runs ``speed`` times faster than the wall."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    base = start.astimezone(UTC)

    def now() -> datetime:
        return base + (loop.time() - t0) * speed * (
            datetime(2000, 1, 1, 0, 0, 1) - datetime(2000, 1, 1)
        )

    return now
