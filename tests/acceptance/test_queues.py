"""Queue calls end to end through the simulator on a real Postgres: distribution per
strategy, abandon while waiting, overflow, auto-pause, wrap-up, announcements.

Calls are routed straight into a queue (``run_queue``) by the dispatcher of the engine
under test, the way a number that routes to a queue would be; agents are SIP endpoints of
the simulator (``PJSIP/<agent>``) whose behaviour each test scripts.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg

from ivr_engine.asterisk.ari.events import PlaybackFinished, StasisStart
from ivr_engine.asterisk.ari.models import Channel
from ivr_engine.calls.legs import CallerGone
from ivr_engine.calls.queue import run_queue
from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.calls.session import CallSession
from ivr_engine.domain.acd import AgentState
from ivr_engine.domain.numbers import try_normalize
from ivr_engine.domain.queue_doc import (
    AfterCall,
    Overflow,
    QueueAgent,
    QueueConfig,
    QueueStrategy,
)
from ivr_engine.domain.queue_log import parse_line
from ivr_engine.domain.trace import CallTrace
from ivr_engine.sim import Behaviour
from ivr_engine.store import agents as agent_store
from ivr_engine.store import queue_stats as stats

from .conftest import EngineFactory, Harness

OPEN = datetime(2026, 11, 20, 12, 0)
NUMBER = "05051234567"  # gangnam-pizza
TENANT = "gangnam-pizza"
OVERFLOW_PHONE = "01077778888"


def route_to_queue(h: Harness, queue: QueueConfig) -> QueueRuntime:
    """Send every inbound call of the engine into ``queue``, through the engine's own queue
    runtime (the one its agent timers and device-state watcher wake), at the simulator's
    clock speed."""
    engine = h.engine
    runtime = engine.queues
    runtime.node, runtime.speed = "engine-1", h.sim.config.speed
    runtime.queues[queue.id] = queue
    assert engine.env.queues is runtime
    dispatcher = engine.dispatcher

    def start(channel: Channel) -> asyncio.Task[CallTrace]:
        session = CallSession(dispatcher.env, channel)
        session.trace.caller = try_normalize(channel.caller.number) or ""
        session.trace.tenant_id = TENANT

        async def run() -> CallTrace:
            try:
                await run_queue(session, queue.id)
            except CallerGone:
                session.ended_by("caller", session.watch.cause)
            finally:
                session.watch.close()
                session.trace.ended_at = session.now()
            return session.trace

        task = asyncio.create_task(run())
        dispatcher.sessions[channel.id] = task
        task.add_done_callback(lambda t, cid=channel.id: dispatcher._done(cid, t))
        return task

    dispatcher.start_session = start  # type: ignore[method-assign]
    return runtime


async def start(
    call_engine: EngineFactory, queue: QueueConfig, *, login: tuple[str, ...] | None = None
) -> tuple[Harness, asyncpg.Pool]:
    """An engine routing calls into ``queue``, its agents created and logged in."""
    h = await call_engine(OPEN)
    route_to_queue(h, queue)
    pool = h.engine.db.pool
    now = h.engine.env.clock()
    await agent_store.sync_queue_agents(pool, TENANT, queue, now=now)
    for agent in login if login is not None else tuple(a.id for a in queue.agents):
        await agent_store.login(pool, agent, now=now)
    return h, pool


def agents(*names: str, **kw: object) -> tuple[QueueAgent, ...]:
    return tuple(QueueAgent(n, f"PJSIP/{n}", **kw) for n in names)  # type: ignore[arg-type]


async def served_by(h: Harness, caller: str, **kw: object) -> str | None:
    """Place a call, wait for its end; the agent endpoint that answered (or None)."""
    call = await h.call(NUMBER, caller, **kw)
    trace = await h.finished(call, timeout=20)
    return trace.answered_target


async def log_events(pool: asyncpg.Pool) -> list[tuple[str, str, tuple[str, ...]]]:
    lines = await stats.log_lines(
        pool, start=datetime(2000, 1, 1).astimezone(), end=datetime(2100, 1, 1).astimezone()
    )
    return [(p.agent, p.event, p.data) for p in map(parse_line, lines)]


async def test_longest_idle_offers_the_most_idle_agent(call_engine: EngineFactory) -> None:
    q = QueueConfig("support", strategy=QueueStrategy.LONGEST_IDLE, agents=agents("a", "b", "c"))
    h, pool = await start(call_engine, q)
    for name in "abc":
        h.sim.set_behaviour(name, Behaviour.answer_after(0.5, talk=1.0))
    now = h.engine.env.clock()
    await pool.execute(
        "UPDATE agents SET last_call_end = $2 WHERE id = $1", "a", now - timedelta(minutes=5)
    )
    await pool.execute(
        "UPDATE agents SET last_call_end = $2 WHERE id = $1", "b", now - timedelta(minutes=50)
    )
    served = [await served_by(h, "01020003000") for _ in range(4)]
    # c never had a call, then b idled longest, then a; then c again (its call ended first).
    assert served == ["PJSIP/c", "PJSIP/b", "PJSIP/a", "PJSIP/c"]
    events = [e for _, e, _ in await log_events(pool)]
    assert events.count("ENTERQUEUE") == 4 and events.count("CONNECT") == 4
    assert events.count("COMPLETEAGENT") == 4


async def test_round_robin_remembers_the_last_agent(call_engine: EngineFactory) -> None:
    q = QueueConfig("support", strategy=QueueStrategy.ROUND_ROBIN, agents=agents("a", "b", "c"))
    h, pool = await start(call_engine, q)
    for name in "abc":
        h.sim.set_behaviour(name, Behaviour.answer_after(0.5, talk=0.5))
    await pool.execute("INSERT INTO queue_memory VALUES ($1, 'support', 'b')", TENANT)
    served = [await served_by(h, "01020003000") for _ in range(4)]
    assert served == ["PJSIP/c", "PJSIP/a", "PJSIP/b", "PJSIP/c"]


async def test_weighted_shares_calls_by_weight(call_engine: EngineFactory) -> None:
    q = QueueConfig(
        "support",
        strategy=QueueStrategy.WEIGHTED,
        agents=(QueueAgent("a", "PJSIP/a", weight=3), QueueAgent("b", "PJSIP/b")),
    )
    h, _ = await start(call_engine, q)
    for name in "ab":
        h.sim.set_behaviour(name, Behaviour.answer_after(0.2, talk=1.0))
    served = [await served_by(h, "01020003000") for _ in range(8)]
    assert served.count("PJSIP/a") == 6 and served.count("PJSIP/b") == 2


async def test_sticky_returns_a_repeat_caller_to_its_agent(call_engine: EngineFactory) -> None:
    q = QueueConfig("support", strategy=QueueStrategy.STICKY, agents=agents("a", "b"))
    h, _ = await start(call_engine, q)
    for name in "ab":
        h.sim.set_behaviour(name, Behaviour.answer_after(0.3, talk=0.5))
    first = await served_by(h, "01011110001")
    second = await served_by(h, "01011110002")
    assert first != second
    # Each repeat caller reaches the agent who served it before, although for one of the
    # two calls that agent is the less idle one.
    assert await served_by(h, "01011110002") == second
    assert await served_by(h, "01011110001") == first


async def test_ring_all_first_answer_wins_others_are_not_missed(call_engine: EngineFactory) -> None:
    q = QueueConfig(
        "support", strategy=QueueStrategy.RING_ALL, auto_pause_after=1, agents=agents("a", "b")
    )
    h, pool = await start(call_engine, q)
    h.sim.set_behaviour("a", Behaviour.no_answer())
    h.sim.set_behaviour("b", Behaviour.answer_after(1.0, talk=1.0))
    assert await served_by(h, "01020003000") == "PJSIP/b"
    offers = dict(await pool.fetch("SELECT agent_id, result FROM queue_offers"))
    assert offers == {"a": "cancelled", "b": "answered"}
    row = await pool.fetchrow("SELECT state, missed_in_row FROM agents WHERE id = 'a'")
    assert tuple(row) == ("ready", 0)


async def test_abandon_while_waiting(call_engine: EngineFactory) -> None:
    q = QueueConfig("support", agents=agents("a"), announce_every_seconds=2)
    h, pool = await start(call_engine, q)
    await agent_store.set_state(
        pool, "a", AgentState.REST, now=h.engine.env.clock(), reason="lunch"
    )
    call = await h.call(NUMBER, "01020003000", hangup_after=14.0)
    trace = await h.finished(call, timeout=20)
    assert trace.hangup_by == "caller" and trace.answered_target is None
    timeline = h.sim.timeline(call.channel_id)
    assert any(e.kind == "moh" for e in timeline), "the caller heard no music on hold"
    announcements = [e for e in timeline if e.kind == "play" and "queue-wait" in e.media]
    assert len(announcements) >= 2
    outcome = await pool.fetchval("SELECT outcome FROM queue_calls")
    assert outcome == "abandoned"
    assert [e for _, e, _ in await log_events(pool)] == ["ENTERQUEUE", "ABANDON"]
    assert await pool.fetchval("SELECT count(*) FROM queue_offers") == 0


async def test_overflow_when_no_agent_is_logged_in_forwards(call_engine: EngineFactory) -> None:
    q = QueueConfig(
        "support", agents=agents("a"), overflow=Overflow(forward=OVERFLOW_PHONE, ring_seconds=10)
    )
    h, pool = await start(call_engine, q, login=())
    h.sim.set_behaviour(OVERFLOW_PHONE, Behaviour.answer_after(1.0, talk=1.0))
    assert await served_by(h, "01020003000") == OVERFLOW_PHONE
    assert await pool.fetchval("SELECT outcome FROM queue_calls") == "overflow"
    assert [e for _, e, _ in await log_events(pool)] == ["ENTERQUEUE", "EXITEMPTY"]


async def test_overflow_after_max_wait_announces_and_hangs_up(call_engine: EngineFactory) -> None:
    q = QueueConfig("support", agents=agents("a"), max_wait_seconds=6, announce_every_seconds=0)
    h, pool = await start(call_engine, q)
    await agent_store.set_state(pool, "a", AgentState.REST, now=h.engine.env.clock())
    call = await h.call(NUMBER, "01020003000")
    trace = await h.finished(call, timeout=20)
    assert trace.hangup_by == "engine" and trace.hangup_cause == 16
    plays = [e.media for e in h.sim.timeline(call.channel_id) if e.kind == "play"]
    assert plays and plays[-1].endswith("ivr/system/cannot-be-reached")
    (_agent, event, data) = (await log_events(pool))[-1]
    assert event == "EXITWITHTIMEOUT" and int(data[2]) >= 6


async def test_agent_missing_calls_is_auto_paused(call_engine: EngineFactory) -> None:
    q = QueueConfig(
        "support",
        ring_seconds=3,
        auto_pause_after=2,
        max_wait_seconds=30,
        announce_every_seconds=0,
        agents=agents("a"),
    )
    h, pool = await start(call_engine, q)
    h.sim.set_behaviour("a", Behaviour.no_answer())
    call = await h.call(NUMBER, "01020003000")
    trace = await h.finished(call, timeout=30)
    assert trace.answered_target is None
    state, reason = await pool.fetchrow("SELECT state, reason FROM agents WHERE id = 'a'")
    assert state == "rest" and reason.startswith("auto-pause")
    events = [e for _, e, _ in await log_events(pool)]
    assert events == ["ENTERQUEUE", "RINGNOANSWER", "RINGNOANSWER", "PAUSE", "EXITWITHTIMEOUT"]
    results = [r["result"] for r in await pool.fetch("SELECT result FROM queue_offers ORDER BY id")]
    assert results == ["missed", "missed"]


async def test_wrapup_holds_the_next_call_back(call_engine: EngineFactory) -> None:
    q = QueueConfig(
        "support",
        wrapup_seconds=10,
        after_call=AfterCall.READY,
        agents=agents("a"),
        announce_every_seconds=0,
    )
    h, pool = await start(call_engine, q)
    h.sim.set_behaviour("a", Behaviour.answer_after(0.5, talk=1.0))
    first = await h.call(NUMBER, "01011110001")
    second = await h.call(NUMBER, "01011110002")
    traces = [await h.finished(c, timeout=30) for c in (first, second)]
    assert [t.answered_target for t in traces] == ["PJSIP/a", "PJSIP/a"]
    ends = await pool.fetch("SELECT answered_at, ended_at FROM queue_calls ORDER BY answered_at")
    gap = (ends[1]["answered_at"] - ends[0]["ended_at"]).total_seconds()
    assert gap >= 10, f"the second call reached the agent {gap:.1f}s into a 10s wrap-up"
    states = [
        r["state"]
        for r in await pool.fetch(
            "SELECT state FROM agent_state_history WHERE agent_id = 'a' ORDER BY id"
        )
    ]
    assert states[:6] == ["ready", "ringing", "on_call", "wrapup", "ready", "ringing"]


async def test_answered_queue_call_names_the_agent_channel(call_engine: EngineFactory) -> None:
    # The record's dstchannel is the agent leg's Asterisk channel name, as in Asterisk's CDR.
    q = QueueConfig("names", strategy=QueueStrategy.RING_ALL, agents=agents("a"))
    h, _pool = await start(call_engine, q)
    h.sim.set_behaviour("a", Behaviour.answer_after(0.5, talk=1.0))
    call = await h.call(NUMBER, "01020003000")
    trace = await h.finished(call, timeout=20)
    assert trace.answered_target == "PJSIP/a"
    made = h.sim.world.all_channels.values()
    (leg,) = [c for c in made if c.id.startswith(call.channel_id + "-q")]
    assert trace.dst_channel == leg.name and leg.name.startswith("PJSIP/a-")
    assert trace.channel_name == call.channel.name


async def test_wrapups_are_ended_by_the_engines_timers_not_by_waiting_callers(
    call_engine: EngineFactory,
) -> None:
    """One sweep per engine: with the engine's timers stopped, a waiting caller polls the
    queue again and again and the agent's overdue wrap-up still stands; one tick of the
    timers ends it, and the caller gets the agent."""
    q = QueueConfig("support", agents=agents("a"), announce_every_seconds=2)
    h, pool = await start(call_engine, q)
    timers = h.engine.timers
    assert timers is not None
    await timers.stop()
    now = h.engine.env.clock()
    await agent_store.set_state(pool, "a", AgentState.WRAPUP, now=now, wrapup_until=now)
    h.sim.set_behaviour("a", Behaviour.answer_after(0.5, talk=1.0))
    stream = h.engine.stream
    with (
        stream.expect(PlaybackFinished, lambda e: e.playback.id.startswith("qa-")) as announced,
        stream.expect(StasisStart, lambda e: e.args[:1] == ("outbound",)) as offered,
    ):
        call = await h.call(NUMBER, "01011110001")
        waits = [asyncio.ensure_future(w.wait(10)) for w in (announced, offered)]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
        # Two clock seconds of waiting (many polls of the queue) before any agent is rung.
        assert announced.event is not None, "no announcement"
        assert offered.event is None, "the agent was rung during its wrap-up"
    assert await pool.fetchval("SELECT state FROM agents WHERE id = 'a'") == "wrapup"
    assert await timers.tick() == ["a"]
    trace = await h.finished(call, timeout=20)
    assert trace.answered_target == "PJSIP/a"


async def test_overflow_forward_never_rings_over_the_conversation(
    call_engine: EngineFactory,
) -> None:
    q = QueueConfig(
        "support", agents=agents("a"), overflow=Overflow(forward=OVERFLOW_PHONE, ring_seconds=10)
    )
    h, _pool = await start(call_engine, q, login=())
    h.sim.set_behaviour(OVERFLOW_PHONE, Behaviour.answer_after(1.0, talk=2.0))
    call = await h.call(NUMBER, "01020003000")
    trace = await h.finished(call, timeout=20)
    assert trace.answered_target == OVERFLOW_PHONE
    heard = h.sim.timeline(call.channel_id)
    ringback = [e for e in heard if e.kind == "ringback"]
    bridged = [e for e in heard if e.kind == "bridged" and e.peer.startswith(call.channel_id)]
    assert ringback and len(bridged) == 1, [e.describe() for e in heard]
    assert all(r.t_end is not None and r.t_end <= bridged[0].t_start for r in ringback)
    assert ringback[-1].detail.get("ended_by") == "ring stop"
