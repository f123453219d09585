"""Live behaviour of calls: caller ID shown to targets, talk limits, configuration changes
during calls, a dropped ARI connection, and Postgres going away."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from ivr_engine.sim import Behaviour, Simulator
from tests.support.tcp_proxy import TcpProxy, database_proxy

from .conftest import EngineFactory

OPEN = datetime(2026, 11, 20, 12, 0)  # Friday noon, Asia/Seoul
GANGNAM, FIRST, SECOND = "05051234567", "01011112222", "023334444"

ALWAYS_OPEN = """
tenants:
  - id: lab
    name: 실험실
    numbers:
      - number: 0505-555-0001
        targets: [{{number: {target}, ring_seconds: {ring}}}]
        caller_id: {caller_id}
        {extra}
"""


def lab(
    target: str = "010-4444-0001", caller_id: str = "caller", extra: str = "", ring: int = 10
) -> str:
    """A tenant with one always-open number."""
    return ALWAYS_OPEN.format(target=target, caller_id=caller_id, extra=extra, ring=ring)


async def test_caller_id_shown_to_target_follows_config(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    await h.load_yaml(lab(caller_id="virtual_number"))
    h.sim.set_behaviour("01044440001", Behaviour.answer_after(1.0, talk=4.0))
    call = await h.call("05055550001", "01020003000")
    trace = await h.finished(call)
    leg = next(e.data["leg"] for e in trace.entries if e.kind == "ring")
    assert h.sim.world.all_channels[leg].caller_number == "05055550001"

    await h.load_yaml(lab(caller_id="caller"))
    call = await h.call("05055550001", "01020003000")
    trace = await h.finished(call)
    leg = next(e.data["leg"] for e in trace.entries if e.kind == "ring")
    assert h.sim.world.all_channels[leg].caller_number == "01020003000"


async def test_maximum_talk_time_ends_the_call(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    await h.load_yaml(lab(extra="max_talk_seconds: 1"))
    h.sim.set_behaviour("01044440001", Behaviour.answer_after(1.0))  # would talk forever
    call = await h.call("05055550001", "01020003000")
    trace = await h.finished(call, timeout=20)
    assert trace.hangup_by == "engine"
    # The engine's limit is wall-clock time; the trace runs at the simulator's speed.
    talk = (trace.ended_at - trace.answered_at).total_seconds() / h.sim.config.speed
    assert 1 <= talk < 3, talk


async def test_config_change_applies_to_the_next_call_only(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    await h.load_yaml(lab(target="010-4444-0001"))
    h.sim.set_behaviour("01044440001", Behaviour.answer_after(1.0, talk=8.0))
    h.sim.set_behaviour("01044440002", Behaviour.answer_after(1.0, talk=2.0))
    first = await h.call("05055550001", "01020003000")
    bridged = h.expect_bridged(first.channel_id)
    await bridged.wait(10)
    await h.load_yaml(lab(target="010-4444-0002"))
    second = await h.call("05055550001", "01020003000")
    trace2 = await h.finished(second)
    trace1 = await h.finished(first)
    assert [a.target for a in trace1.attempts] == ["01044440001"]
    assert [a.target for a in trace2.attempts] == ["01044440002"]


async def test_ari_connection_dropped_mid_call(call_engine: EngineFactory, sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim: Simulator = await sim_factory()
    proxy = await TcpProxy("127.0.0.1", sim.ari_port).start()
    try:
        h = await call_engine(OPEN, sim=sim, ari_url=lambda s: f"http://127.0.0.1:{proxy.port}/ari")
        sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=6.0))
        call = await h.call(GANGNAM, "01020003000")
        await h.expect_bridged(call.channel_id).wait(10)
        reconnects = h.engine.stream.health.reconnects
        assert await proxy.cut() >= 1
        trace = await h.finished(call, timeout=20)
        # The callee hung up on its own; the caller was ended too, nothing left behind.
        assert trace.answered_target == FIRST
        assert trace.hangup_by in {"callee", "engine"}
        assert h.engine.stream.health.reconnects > reconnects
        assert not [c for c in sim.channels.values() if not c.gone]
        await h.engine.cdr.flush()
        rows = await h.engine.db.pool.fetch(
            "SELECT disposition, answered_target FROM call_records WHERE call_id = $1",
            call.channel_id,
        )
        assert [tuple(r) for r in rows] == [("ANSWERED", FIRST)]
    finally:
        await proxy.stop()


async def test_database_down_routes_from_cache_and_falls_back(
    call_engine: EngineFactory, db_url: str, pool: asyncpg.Pool
) -> None:
    async with database_proxy(db_url) as (proxy, proxied):
        h = await call_engine(OPEN, database_url=proxied)
        await asyncio.wait_for(h.engine.cache.wait_until_listening(), 10)
        assert await h.engine.cache.get(GANGNAM) is not None  # known before the outage
        assert h.engine.cache.last_known(GANGNAM) is not None
        h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=4.0))
        proxy.refuse = True
        assert await proxy.cut() >= 1
        during = await h.call(GANGNAM, "01020003000")
        trace = await h.finished(during, timeout=20)
        assert trace.state == "open" and trace.answered_target == FIRST
        await h.engine.cdr.flush()  # durable: in the journal, the database being away
        assert not h.engine.cdr.db_up and h.engine.cdr.stats.journal_records >= 1
        # A number not cached cannot be planned: the call goes back to the dialplan, whose
        # fallback forwards from AstDB (nothing is there in this test, so it is declined).
        h.engine.cache.forget()
        call = await h.call(GANGNAM, "01020003000")
        trace = await h.finished(call, timeout=20)
        assert [e.kind for e in trace.entries if e.kind == "fallback"] == ["fallback"]
        assert trace.attempts == []
        heard = h.kinds(call.channel_id)
        assert "declined" in heard or "dial" in heard[2:], heard
        # Postgres is back: the journal is replayed; every call recorded exactly once.
        proxy.refuse = False
        await asyncio.wait_for(h.engine.cdr.wait_up(), 30)
        await h.engine.cdr.flush()
        rows = await pool.fetch(
            "SELECT call_id, disposition FROM call_records "
            "WHERE call_id = ANY($1::text[]) ORDER BY call_id",
            [during.channel_id, call.channel_id],
        )
        assert sorted(tuple(r) for r in rows) == sorted(
            [(during.channel_id, "ANSWERED"), (call.channel_id, "FAILED")]
        )


async def test_missing_coloring_sound_still_rings_and_connects(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    await h.load_yaml(lab(extra="coloring: {audio: ivr/no-such-coloring}"))
    h.sim.set_behaviour("01044440001", Behaviour.answer_after(3.0, talk=3.0))
    call = await h.call("05055550001", "01020003000")
    trace = await h.finished(call)
    heard = h.sim.timeline(call.channel_id)
    failed = [e for e in heard if e.kind == "play" and e.result == "failed"]
    assert failed and failed[0].media == "sound:ivr/no-such-coloring"
    assert any(e.kind in ("ringback", "ringing") for e in heard), [e.kind for e in heard]
    assert trace.answered_target == "01044440001" and any(e.kind == "bridged" for e in heard)
