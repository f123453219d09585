"""Scripted demo calls on the built-in simulator: one per flow, each printed as the engine's
trace plus what the caller and the callee heard.

Each scenario sets the engine's planner clock to a chosen moment (so "closed" or "holiday"
happens whatever the real time is), scripts the forward targets' behaviour on the
simulated carrier trunk, and says how the call must end (``Expected``); the demo prints
whether it did, and the acceptance tests hold every scenario to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr_engine.domain.causes import Cause
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.trace import CallTrace, spoken_media
from ivr_engine.prompts.manifest import prompt_texts
from ivr_engine.service import RunningEngine
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.store import agents as agent_store

SEOUL = ZoneInfo("Asia/Seoul")


@dataclass(frozen=True)
class Expected:
    """How a demo call must end: the plan's state and outcome, the forward target (or queue
    agent) that answered (None: none did), the Q.850 cause the caller's channel ended with,
    who ended it (``caller``, ``callee`` or ``engine``) and the kinds of trace entries the
    call must have made on the way (e.g. ``callback``: a callback request stored)."""

    state: str
    outcome: str
    answered: str | None
    cause: int
    ended_by: str
    entries: tuple[str, ...] = ()

    def mismatches(self, trace: CallTrace) -> list[str]:
        """What in the call's trace differs from this (empty when the call went as
        expected)."""
        got = (
            trace.state,
            trace.outcome,
            trace.answered_target,
            trace.hangup_cause,
            trace.hangup_by,
        )
        want = (self.state, self.outcome, self.answered, self.cause, self.ended_by)
        names = ("state", "outcome", "answered", "cause", "ended by")
        wrong = [
            f"{n}: {g!r}, expected {w!r}"
            for n, g, w in zip(names, got, want, strict=True)
            if g != w
        ]
        kinds = {e.kind for e in trace.entries}
        return wrong + [f"no {kind} in the trace" for kind in self.entries if kind not in kinds]


def _forwarded(target: str, state: str = "open") -> Expected:
    """Answered by ``target``, who hung up after talking."""
    return Expected(state, "forward", target, Cause.NORMAL_CLEARING, "callee")


def _announced(state: str, cause: int = Cause.NORMAL_CLEARING) -> Expected:
    """An announcement, then the engine hangs up with ``cause``."""
    return Expected(state, "announce", None, cause, "engine")


@dataclass(frozen=True)
class Scenario:
    """One demo call: where it goes, when, how the targets behave, how it must end."""

    title: str
    to: str
    caller: str
    at: datetime  # Asia/Seoul wall time
    expect: Expected
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    hangup_after: float | None = None
    dtmf: tuple[tuple[float, str], ...] = ()  # (seconds after the call starts, keys)
    agents: tuple[str, ...] = ()  # agents of the number's queues logged in for the call


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SEOUL)


# The sample's customer center: greeting and menu ("회원 문의는 1번, 결제 문의는 2번, 상담
# 예약은 3번 ..."); a key during the menu stops it and counts.
CENTER, MEMBER_DESK, AGENT = "05053001000", "01044445555", "haneul-kim"
DURING_MENU = 4.0  # seconds after the call starts: the greeting is over, the menu plays


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "forward with coloring and whisper (target answers, talks 5 s)",
        "05051234567",
        "01020003000",
        _at(20, 12),
        _forwarded("01011112222"),
        {"01011112222": Behaviour.answer_after(3.0, talk=5.0)},
    ),
    Scenario(
        "sequential failover: first target busy, second answers",
        "05051234567",
        "01020003000",
        _at(20, 12),
        _forwarded("023334444"),
        {"01011112222": Behaviour.busy(), "023334444": Behaviour.answer_after(2.0, talk=6.0)},
    ),
    Scenario(
        "all targets fail: cannot be reached",
        "05051234567",
        "01020003000",
        _at(20, 12),
        Expected("open", "forward", None, Cause.USER_BUSY, "engine"),  # busy wins
        {"01011112222": Behaviour.busy(), "023334444": Behaviour.unreachable(cause=20)},
    ),
    Scenario(
        "simultaneous ring: the first to answer wins",
        "05059876543",
        "01020003000",
        _at(19, 20),
        _forwarded("07012345678"),
        {
            "01033334444": Behaviour.answer_after(4.0, talk=8.0),
            "07012345678": Behaviour.answer_after(2.0, talk=8.0),
        },
    ),
    Scenario(
        "caller hangs up while the target rings",
        "05051234567",
        "01020003000",
        _at(20, 12),
        # The caller's CANCEL (SIP 487) ends its channel with cause 127.
        Expected("open", "forward", None, Cause.INTERWORKING, "caller"),
        {"01011112222": Behaviour.no_answer()},
        hangup_after=4.0,
    ),
    Scenario(
        "lunch announcement", "05051234567", "01020003000", _at(20, 15, 30), _announced("lunch")
    ),
    Scenario(
        "after-hours announcement",
        "05051234567",
        "01020003000",
        _at(20, 23, 30),
        _announced("closed"),
    ),
    Scenario(
        "block period (weekly meeting)",
        "05051234567",
        "01020003000",
        _at(25, 11, 30),
        _announced("block_period"),
    ),
    Scenario(
        "holiday",
        "05051234567",
        "01020003000",
        datetime(2026, 12, 25, 12, tzinfo=SEOUL),
        _announced("holiday"),
    ),
    Scenario(
        "blocked caller",
        "05051234567",
        "+82 10-9999-0000",
        _at(20, 12),
        _announced("blocked_caller", Cause.CALL_REJECTED),
    ),
    Scenario(
        "free pass after hours",
        "05051234567",
        "01055556666",
        _at(20, 23, 30),
        _forwarded("01011112222", state="closed"),  # the state stays the schedule's
        {"01011112222": Behaviour.answer_after(2.0, talk=6.0)},
    ),
    Scenario(
        "paused number",
        "050712345678",
        "01020003000",
        _at(20, 12),
        _announced("paused", Cause.SUBSCRIBER_ABSENT),
    ),
    Scenario(
        "unallocated number",
        "05042223333",
        "01020003000",
        _at(20, 12),
        _announced("unallocated", Cause.UNALLOCATED),
    ),
    Scenario(
        "menu: the caller presses 1 and reaches the member desk",
        CENTER,
        "01020003000",
        _at(20, 12),
        Expected("open", "menu", MEMBER_DESK, Cause.NORMAL_CLEARING, "callee"),
        {MEMBER_DESK: Behaviour.answer_after(2.0, talk=4.0)},
        dtmf=((DURING_MENU, "1"),),
    ),
    Scenario(
        "queue: the caller presses 2, holds, and agent haneul-kim answers",
        CENTER,
        "01020003000",
        _at(20, 12),
        Expected("open", "menu", f"PJSIP/{AGENT}", Cause.NORMAL_CLEARING, "callee", ("queue",)),
        {AGENT: Behaviour.answer_after(3.0, talk=4.0)},
        dtmf=((DURING_MENU, "2"),),
        agents=(AGENT,),
    ),
    Scenario(
        "callback request: the caller presses 3 and hears the confirmation",
        CENTER,
        "01020003000",
        _at(20, 12),
        Expected("open", "menu", None, Cause.NORMAL_CLEARING, "engine", ("callback",)),
        dtmf=((DURING_MENU, "3"),),
    ),
)


def fixed_clock(at: datetime, speed: float) -> Callable[[], datetime]:
    """A planner clock starting at ``at`` and running at the simulator's speed."""
    loop = asyncio.get_running_loop()
    t0, base = loop.time(), at.astimezone(UTC)
    return lambda: base + timedelta(seconds=(loop.time() - t0) * speed)


def render_call(sim: Simulator, trace: CallTrace, texts: Mapping[str, str] | None = None) -> str:
    """The engine's trace and every party's timeline, masked; prompts whose text ``texts``
    knows (sound name -> text) are shown by their words."""
    known = texts or {}
    lines = [trace.render(known), "  caller heard:"]
    lines += [f"    {spoken_media(e.describe(), known)}" for e in sim.timeline(trace.channel_id)]
    legs = [e.data["leg"] for e in trace.entries if e.kind == "ring"]
    for leg in legs:
        lines.append(f"  target leg {leg} heard:")
        lines += [f"    {spoken_media(e.describe(), known)}" for e in sim.timeline(leg)]
    return "\n".join(lines)


async def run_scenario(
    engine: RunningEngine,
    scenario: Scenario,
    sim: Simulator | None = None,
    timeout: float = 120.0,  # noqa: ASYNC109
) -> CallTrace:
    """Place one scripted call on ``sim`` (default: the engine's built-in simulator) and
    wait for the engine to finish it."""
    sim = sim or engine.sim
    if sim is None:
        raise RuntimeError("the demo needs the simulator: configure no ARI URL")
    for number, behaviour in scenario.behaviours.items():
        sim.set_behaviour(number, behaviour)
    engine.env.clock = fixed_clock(scenario.at, sim.config.speed)
    engine.queues.speed = sim.config.speed  # queue timers on the same clock
    await _log_in(engine, scenario.to, scenario.agents)
    done: asyncio.Queue[CallTrace] = asyncio.Queue()
    engine.dispatcher.on_session.append(done)
    try:
        call = await sim.place_call(
            to=scenario.to,
            caller=scenario.caller,
            hangup_after=scenario.hangup_after,
            dtmf=scenario.dtmf,
        )
        async with asyncio.timeout(timeout):
            while True:
                trace = await done.get()
                if trace.channel_id == call.channel_id:
                    return trace
    finally:
        engine.dispatcher.on_session.remove(done)
        for agent in scenario.agents:
            await agent_store.logout(engine.db.pool, agent, now=engine.env.clock())


async def _log_in(engine: RunningEngine, number: str, agents: tuple[str, ...]) -> None:
    """Create the configured agents of ``number``'s queues and log ``agents`` in."""
    if not agents:
        return
    config = await engine.env.configs.get(number)
    if config is None or config.tenant_id is None:
        raise RuntimeError(f"the demo's agents need the number {number} to be configured")
    pool, now = engine.db.pool, engine.env.clock()
    for queue in config.queues or ():
        await agent_store.sync_queue_agents(pool, config.tenant_id, queue, now=now)
    for agent in agents:
        await agent_store.login(pool, agent, now=now)


async def run_demo(engine: RunningEngine, out: Callable[[str], None] = print) -> list[CallTrace]:
    """Run every scenario in turn, printing each call."""
    traces = []
    texts = await asyncio.to_thread(prompt_texts, Path(engine.settings.prompts.sounds_dir))
    for n, scenario in enumerate(SCENARIOS, 1):
        when = scenario.at.strftime("%a %Y-%m-%d %H:%M")
        out(
            f"\n=== demo {n}/{len(SCENARIOS)}: {scenario.title} "
            f"({mask(scenario.caller)} -> {scenario.to}, {when} Asia/Seoul)"
        )
        trace = await run_scenario(engine, scenario)
        assert engine.sim is not None
        out(render_call(engine.sim, trace, texts))
        wrong = scenario.expect.mismatches(trace)
        out("  as expected" if not wrong else "  NOT AS EXPECTED: " + "; ".join(wrong))
        traces.append(trace)
    return traces
