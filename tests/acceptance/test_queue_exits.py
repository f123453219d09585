"""How a wait in a queue ends when no agent takes the call: the callback key, and the
database failing under a waiting caller (a real outage, through the TCP fault proxy).

Through the engine's own call path: the sample's customer center (0505-300-1000), menu key 2
into the ``support`` queue, whose only logged-in agent is resting, so the caller waits
(callback key 1; overflow: forward to 010-4444-5555)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from ivr_engine.domain.acd import AgentState
from ivr_engine.domain.causes import Cause
from ivr_engine.prompts.names import system_sound_name
from ivr_engine.sim import Behaviour
from ivr_engine.store import agents as agent_store
from tests.support.tcp_proxy import database_proxy

from .conftest import EngineFactory, Harness
from .test_contact_center import CENTER, KIM, OPEN, QUEUE, key_after_menu, log_in, queue_log
from .test_contact_center import serve_queues as _serve_queues

OVERFLOW_DESK = "01044445555"
GOODBYE = f"sound:{system_sound_name('goodbye')}"


async def waiting_engine(call_engine: EngineFactory) -> Harness:
    """An engine whose support queue has one agent, logged in but resting."""
    h = await call_engine(OPEN)
    _serve_queues(h, "engine-a")
    await log_in(h, KIM)
    await agent_store.set_state(
        h.engine.db.pool, KIM, AgentState.REST, now=h.engine.env.clock(), reason="break"
    )
    h.sim.set_behaviour(OVERFLOW_DESK, Behaviour.answer_after(1.0, talk=2.0))
    return h


def keys(sounds: Path) -> tuple[tuple[float, str], ...]:
    """Key 2 after the menu prompt (into the queue), key 1 five seconds into the wait."""
    into_queue = key_after_menu(sounds)
    return ((into_queue, "2"), (into_queue + 5.0, "1"))


async def stay_of(pool: asyncpg.Pool, call_id: str) -> tuple[str | None, bool]:
    """The call's queue row: its outcome and whether it was closed."""
    row = await pool.fetchrow(
        "SELECT outcome, left_at IS NOT NULL AS closed FROM queue_calls WHERE call_id = $1",
        call_id,
    )
    assert row is not None
    return row["outcome"], row["closed"]


async def test_the_callback_key_leaves_a_request_and_says_goodbye(
    call_engine: EngineFactory, built_sounds: Path
) -> None:
    h = await waiting_engine(call_engine)
    pool = h.engine.db.pool
    call = await h.call(CENTER, "010-2000-3000", dtmf=keys(built_sounds))
    trace = await h.finished(call, timeout=20)

    requests = await pool.fetch("SELECT caller, source, queue, status FROM callback_requests")
    assert [tuple(r) for r in requests] == [("01020003000", "queue", QUEUE, "open")]
    assert await stay_of(pool, call.channel_id) == ("callback", True)
    assert [e for _, e in await queue_log(pool, call.channel_id)] == ["ENTERQUEUE", "EXITWITHKEY"]
    plays = [e.media for e in h.sim.timeline(call.channel_id) if e.kind == "play"]
    assert plays[-1] == GOODBYE
    assert (trace.hangup_by, trace.hangup_cause) == ("engine", Cause.NORMAL_CLEARING)


async def test_a_request_the_database_refuses_is_not_confirmed_the_caller_overflows(
    call_engine: EngineFactory, built_sounds: Path
) -> None:
    """The callback request cannot be stored: the caller is not told goodbye as if it had
    been; the wait ends in the queue's overflow (forwarded to the desk), recorded as such."""
    h = await waiting_engine(call_engine)
    pool = h.engine.db.pool
    await pool.execute("ALTER TABLE callback_requests RENAME TO callback_requests_away")
    call = await h.call(CENTER, "010-2000-3000", dtmf=keys(built_sounds))
    trace = await h.finished(call, timeout=30)

    plays = [e.media for e in h.sim.timeline(call.channel_id) if e.kind == "play"]
    assert GOODBYE not in plays
    assert not any(e.kind == "fallback" for e in trace.entries)
    assert trace.answered_target == OVERFLOW_DESK
    assert trace.hangup_cause != Cause.FAILURE
    assert await stay_of(pool, call.channel_id) == ("overflow", True)
    assert [e for _, e in await queue_log(pool, call.channel_id)] == ["ENTERQUEUE", "EXITEMPTY"]


async def test_an_anonymous_callers_callback_key_is_ignored_and_the_wait_goes_on(
    call_engine: EngineFactory, built_sounds: Path
) -> None:
    h = await waiting_engine(call_engine)
    pool = h.engine.db.pool
    pressed_at = keys(built_sounds)[-1][0]
    call = await h.call(CENTER, "anonymous", dtmf=keys(built_sounds), hangup_after=pressed_at + 3.0)
    trace = await h.finished(call, timeout=20)

    ignored = [e.text for e in trace.entries if e.kind == "callback"]
    assert len(ignored) == 1 and ignored[0].startswith("callback key ignored"), ignored
    assert await pool.fetchval("SELECT count(*) FROM callback_requests") == 0
    assert await stay_of(pool, call.channel_id) == ("abandoned", True)
    assert trace.hangup_by == "caller"


async def test_a_database_outage_under_a_waiting_caller_ends_the_wait_in_the_overflow(
    call_engine: EngineFactory, built_sounds: Path, db_url: str, pool: asyncpg.Pool
) -> None:
    """Postgres goes away while the caller holds: the caller is forwarded to the overflow
    desk (no cause-38 hang-up), and once Postgres is back the wait is recorded as
    overflowed: no queue row is left open."""
    async with database_proxy(db_url) as (proxy, proxied):
        h = await call_engine(OPEN, database_url=proxied)
        _serve_queues(h, "engine-a")
        await log_in(h, KIM)
        await agent_store.set_state(
            h.engine.db.pool, KIM, AgentState.REST, now=h.engine.env.clock(), reason="break"
        )
        h.sim.set_behaviour(OVERFLOW_DESK, Behaviour.answer_after(1.0, talk=2.0))
        call = await h.call(CENTER, "010-2000-3000", dtmf=keys(built_sounds)[:1])
        await h.expect_bridged(call.channel_id).wait(10)  # on hold in the queue
        proxy.refuse = True
        assert await proxy.cut() >= 1
        trace = await h.finished(call, timeout=30)

        assert not any(e.kind == "fallback" for e in trace.entries)
        overflowed = [e.text for e in trace.entries if e.kind == "overflow"]
        assert len(overflowed) == 1 and "database" in overflowed[0], overflowed
        assert trace.answered_target == OVERFLOW_DESK
        assert trace.hangup_cause != Cause.FAILURE
        runtime = h.engine.queues
        assert runtime.deferred, "the exit was written while the database was away"
        proxy.refuse = False
        await asyncio.wait_for(runtime.drained(), 30)
        assert await stay_of(pool, call.channel_id) == ("overflow", True)
        assert [e for _, e in await queue_log(pool, call.channel_id)] == ["ENTERQUEUE", "EXITEMPTY"]
