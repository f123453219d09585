"""Agents in Postgres: claims across engine instances, state changes and their history,
auto-pause, wrap-up, notes, and the statistics built from the queue rows."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.asterisk.ami.client import AmiClient
from ivr_engine.calls.agent_state import DeviceStateWatcher
from ivr_engine.cli import main
from ivr_engine.domain.acd import AgentState, CallOutcome, after_call
from ivr_engine.domain.queue_doc import AfterCall, QueueAgent, QueueConfig, ServiceLevelMode
from ivr_engine.domain.queue_log import QueueEvent, QueueLogEntry, parse_line
from ivr_engine.errors import ConflictError, ValidationError
from ivr_engine.settings import Settings
from ivr_engine.sim import Simulator
from ivr_engine.store import agents as store
from ivr_engine.store import queue_stats as stats
from ivr_engine.store.pool import create_pool_for_url
from ivr_engine.store.repos import PgAgentRepo

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TENANT = "shop"
SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"


async def _tenant(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO tenants (id, name) VALUES ($1, $1)", TENANT)


async def _agents(pool: asyncpg.Pool, n: int, queue: str = "support") -> list[str]:
    ids = [f"a{i:02d}" for i in range(n)]
    for agent in ids:
        await store.add_agent(pool, agent, TENANT, f"PJSIP/{agent}", now=T0)
        await store.add_member(pool, TENANT, queue, agent)
        await store.login(pool, agent, now=T0)
    return ids


async def _state(pool: asyncpg.Pool, agent: str) -> tuple[str, str]:
    row = await pool.fetchrow("SELECT state, reason FROM agents WHERE id = $1", agent)
    return row["state"], row["reason"]


@pytest.fixture
async def second_pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A second pool on the same database: another engine instance."""
    p = await create_pool_for_url(db_url, min_size=1, max_size=8)
    try:
        yield p
    finally:
        await p.close()


async def test_two_engines_never_offer_one_agent_two_calls(
    pool: asyncpg.Pool, second_pool: asyncpg.Pool
) -> None:
    await _tenant(pool)
    agents = await _agents(pool, 10)

    # 40 calls from two engines race for the same 10 agents, every one of them asking for
    # the agents in the same order (the worst case for double offers).
    async def grab(p: asyncpg.Pool, node: str, i: int) -> list[str]:
        got = await store.claim(
            p,
            agents,
            call_id=f"{node}-{i}",
            tenant_id=TENANT,
            queue_id="support",
            node=node,
            now=T0,
        )
        return [a.id for a in got]

    results = await asyncio.gather(
        *(grab(p, n, i) for i in range(20) for p, n in ((pool, "e1"), (second_pool, "e2")))
    )
    claimed = [a for r in results for a in r]
    assert sorted(claimed) == sorted(agents), "every agent offered exactly once"
    rows = await pool.fetch("SELECT id, state, offer_call FROM agents ORDER BY id")
    assert {r["state"] for r in rows} == {"ringing"}
    assert len({r["offer_call"] for r in rows}) == 10
    offers = await pool.fetchval("SELECT count(*) FROM queue_offers")
    assert offers == 10


async def test_ring_all_claims_several_and_locked_rows_are_skipped(
    pool: asyncpg.Pool, second_pool: asyncpg.Pool
) -> None:
    await _tenant(pool)
    agents = await _agents(pool, 3)
    async with second_pool.acquire() as conn, conn.transaction():
        # Another engine is in the middle of claiming a00: it is skipped, not waited for.
        await conn.execute("SELECT 1 FROM agents WHERE id = 'a00' FOR UPDATE")
        got = await asyncio.wait_for(
            store.claim(
                pool,
                agents,
                call_id="c1",
                tenant_id=TENANT,
                queue_id="support",
                node="e1",
                now=T0,
                limit=3,
            ),
            5,
        )
    assert [a.id for a in got] == ["a01", "a02"]
    assert await _state(pool, "a00") == ("ready", "login")


async def test_missed_offers_auto_pause_and_history(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    (agent,) = await _agents(pool, 1)
    paused = []
    for i in range(3):
        now = T0 + timedelta(minutes=i)
        (offer,) = await store.claim(
            pool, [agent], call_id=f"c{i}", tenant_id=TENANT, queue_id="support", node="e1", now=now
        )
        paused.append(
            await store.offer_failed(
                pool,
                offer,
                call_id=f"c{i}",
                result="missed",
                ring_seconds=15,
                auto_pause_after=3,
                now=now + timedelta(seconds=15),
            )
        )
    assert paused == [False, False, True]
    state, reason = await _state(pool, agent)
    assert state == "rest" and reason.startswith("auto-pause")
    # A paused agent is not offered calls.
    assert (
        await store.claim(
            pool,
            [agent],
            call_id="c9",
            tenant_id=TENANT,
            queue_id="support",
            node="e1",
            now=T0 + timedelta(minutes=5),
        )
        == []
    )
    await store.set_state(pool, agent, AgentState.READY, now=T0 + timedelta(minutes=6))
    assert await pool.fetchval("SELECT missed_in_row FROM agents WHERE id = $1", agent) == 0
    history = await pool.fetch(
        "SELECT state, ended_at FROM agent_state_history WHERE agent_id = $1 ORDER BY id", agent
    )
    assert [h["state"] for h in history] == [
        "ready",
        "ringing",
        "ready",
        "ringing",
        "ready",
        "ringing",
        "rest",
        "ready",
    ]
    assert [h["ended_at"] is None for h in history].count(True) == 1


async def test_cancelled_offer_is_not_a_miss(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    (agent,) = await _agents(pool, 1)
    (offer,) = await store.claim(
        pool, [agent], call_id="c1", tenant_id=TENANT, queue_id="support", node="e1", now=T0
    )
    assert not await store.offer_failed(
        pool, offer, call_id="c1", result="cancelled", ring_seconds=2, auto_pause_after=1, now=T0
    )
    assert await _state(pool, agent) == ("ready", "")


async def test_wrapup_then_ready_and_notes(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    (agent,) = await _agents(pool, 1)
    stay = await stats.enter(
        pool,
        call_id="c1",
        tenant_id=TENANT,
        queue_id="support",
        number="05051234567",
        caller="01011112222",
        node="e1",
        now=T0,
    )
    (offer,) = await store.claim(
        pool, [agent], call_id="c1", tenant_id=TENANT, queue_id="support", node="e1", now=T0
    )
    await store.call_answered(pool, offer, call_id="c1", ring_seconds=3, now=T0)
    await stats.leave(pool, stay.row_id, CallOutcome.ANSWERED, now=T0, agent_id=agent)
    end = T0 + timedelta(seconds=60)
    plan = after_call(10, AfterCall.READY)
    assert await store.call_ended(pool, agent, call_id="c1", plan=plan, now=end) == "wrapup"
    assert await store.release_wrapups(pool, now=end + timedelta(seconds=9)) == []
    assert await store.release_wrapups(pool, now=end + timedelta(seconds=10)) == [agent]
    assert await _state(pool, agent) == ("ready", "")
    await store.add_note(pool, agent, "refund", "wants a refund", now=end)
    row = await pool.fetchrow("SELECT call_id, queue_id, call_type FROM agent_call_notes")
    assert tuple(row) == ("c1", "support", "refund")
    with pytest.raises(ValidationError):
        await store.add_note(pool, agent, "refund", "x" * 1025, now=end)


async def test_state_changes_need_a_logged_in_agent(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    await store.add_agent(pool, "kim", TENANT, "PJSIP/kim", now=T0, login_state="rest")
    with pytest.raises(ConflictError):
        await store.set_state(pool, "kim", AgentState.READY, now=T0)
    assert await store.login(pool, "kim", now=T0) is AgentState.REST
    await store.logout(pool, "kim", now=T0 + timedelta(hours=1))
    assert await store.sessions(pool, "kim") == [(T0, T0 + timedelta(hours=1))]


async def test_unreachable_agents_are_not_candidates(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    await _agents(pool, 2)
    assert await store.set_reachable(pool, "PJSIP/a00", False, "UNAVAILABLE") == ["a00"]
    view = await store.queue_view(pool, TENANT, "support", "", period_start=T0)
    assert [c.agent_id for c in view.candidates] == ["a01"]
    assert (view.logged_in, view.ready) == (1, 1)


async def test_config_agents_are_synced(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    queue = QueueConfig(
        "support",
        agents=(
            QueueAgent("kim", "PJSIP/kim", priority=1),
            QueueAgent("lee", "01022223333", weight=3),
        ),
    )
    await store.sync_queue_agents(pool, TENANT, queue, now=T0)
    await store.add_agent(pool, "park", TENANT, "PJSIP/park", now=T0)
    await store.add_member(pool, TENANT, "support", "park")
    await store.sync_queue_agents(
        pool, TENANT, QueueConfig("support", agents=queue.agents[:1]), now=T0
    )
    members = await pool.fetch("SELECT agent_id, priority FROM queue_members ORDER BY 1")
    assert [tuple(m) for m in members] == [("kim", 1), ("park", 0)]


async def test_queue_statistics_and_log(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    (agent,) = await _agents(pool, 1)
    waits = [
        (CallOutcome.ANSWERED, 10),
        (CallOutcome.ANSWERED, 40),
        (CallOutcome.ABANDONED, 2),
        (CallOutcome.ABANDONED, 30),
        (CallOutcome.OVERFLOW, 300),
    ]
    for i, (outcome, wait) in enumerate(waits):
        start = T0 + timedelta(minutes=10 * i)
        stay = await stats.enter(
            pool,
            call_id=f"c{i}",
            tenant_id=TENANT,
            queue_id="support",
            number="05051234567",
            caller="",
            node="e1",
            now=start,
        )
        left = start + timedelta(seconds=wait)
        await stats.leave(
            pool,
            stay.row_id,
            outcome,
            now=left,
            agent_id=agent if outcome is CallOutcome.ANSWERED else None,
        )
        if outcome is CallOutcome.ANSWERED:
            await stats.call_ended(pool, stay.row_id, now=left + timedelta(seconds=100))
    queue = QueueConfig(
        "support",
        service_level_seconds=20,
        short_abandon_seconds=5,
        service_level=ServiceLevelMode.ANSWERED_AND_ABANDONED,
    )
    report = await stats.queue_report(pool, TENANT, queue, start=T0, end=T0 + timedelta(hours=2))
    assert (
        report.offered,
        report.answered,
        report.abandoned,
        report.short_abandoned,
        report.overflowed,
    ) == (4, 2, 1, 1, 1)
    assert report.service_level == pytest.approx(1 / 3)
    assert report.avg_talk == pytest.approx(100)
    assert report.max_wait == pytest.approx(300)
    entry = QueueLogEntry(T0, "c0", "support", "PJSIP/a00", QueueEvent.CONNECT, ("10", "l1", "3"))
    await stats.write_log(pool, TENANT, [entry])
    (line,) = await stats.log_lines(pool, start=T0, end=T0 + timedelta(seconds=1))
    assert line == entry.line()
    assert parse_line(line).data == ("10", "l1", "3")


async def test_agent_report_times(pool: asyncpg.Pool) -> None:
    await _tenant(pool)
    (agent,) = await _agents(pool, 1)
    (offer,) = await store.claim(
        pool,
        [agent],
        call_id="c1",
        tenant_id=TENANT,
        queue_id="support",
        node="e1",
        now=T0 + timedelta(seconds=60),
    )
    await store.call_answered(
        pool, offer, call_id="c1", ring_seconds=5, now=T0 + timedelta(seconds=65)
    )
    await store.call_ended(
        pool,
        agent,
        call_id="c1",
        plan=after_call(30, AfterCall.READY),
        now=T0 + timedelta(seconds=165),
    )
    await store.release_wrapups(pool, now=T0 + timedelta(seconds=195))
    (report,) = await stats.agent_report(pool, TENANT, start=T0, end=T0 + timedelta(seconds=300))
    assert (report.offered, report.answered, report.missed) == (1, 1, 0)
    assert report.after_call_seconds == pytest.approx(30)
    assert Counter({k: round(v) for k, v in report.states.items()}) == Counter(
        {"ready": 60 + 105, "ringing": 5, "on_call": 100, "wrapup": 30}
    )


async def test_device_state_from_ami_marks_agents_unreachable(
    pool: asyncpg.Pool, sim: Simulator
) -> None:
    await _tenant(pool)
    await _agents(pool, 2)
    changes: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    async with AmiClient(
        "127.0.0.1", sim.ami_port, sim.config.ami_user, sim.config.ami_secret
    ) as ami:
        watcher = DeviceStateWatcher(
            PgAgentRepo(pool), ami, lambda e, r: changes.put_nowait((e, r))
        )
        await watcher.start()  # the simulator has no DeviceStateList: events only
        assert sim.ami is not None
        sim.ami.broadcast(
            [
                ("Event", "DeviceStateChange"),
                ("Privilege", "call,all"),
                ("Device", "PJSIP/a01"),
                ("State", "UNAVAILABLE"),
            ]
        )
        assert await asyncio.wait_for(changes.get(), 5) == ("PJSIP/a01", False)
        view = await store.queue_view(pool, TENANT, "support", "", period_start=T0)
        assert [c.agent_id for c in view.candidates] == ["a00"]
        sim.ami.broadcast(
            [
                ("Event", "PeerStatus"),
                ("Privilege", "system,all"),
                ("Peer", "PJSIP/a01"),
                ("PeerStatus", "Reachable"),
            ]
        )
        assert await asyncio.wait_for(changes.get(), 5) == ("PJSIP/a01", True)
    row = await pool.fetchrow("SELECT reachable, device_state FROM agents WHERE id = 'a01'")
    assert tuple(row) == (True, "NOT_INUSE")


def test_cli_agent_and_queue_commands(
    settings_for_db: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)
    assert main(["load", str(SAMPLE)]) == 0
    steps = [
        [
            "agent",
            "add",
            "kim",
            "--tenant",
            "haneul-shop",
            "--endpoint",
            "PJSIP/kim",
            "--queue",
            "support:1",
        ],
        ["agent", "login", "kim"],
        ["agent", "rest", "kim", "--reason", "점심"],
        ["agent", "list", "--tenant", "haneul-shop"],
        ["agent", "note", "kim", "--type", "환불", "--text", "안내함"],
        ["agent", "stats", "--tenant", "haneul-shop"],
        ["queue", "stats", "support", "--tenant", "haneul-shop", "--number", "0505-300-1000"],
        ["queue", "log", "--tenant", "haneul-shop"],
        ["agent", "logout", "kim"],
    ]
    for argv in steps:
        assert main(argv) == 0, argv
    out = capsys.readouterr().out
    assert "kim: rest" in out and "support:1" in out and "점심" in out
    assert "call types: 환불 1" in out
    assert "service level - within 20s (answered)" in out
    assert "kim: offline" in out
    assert main(["queue", "stats", "nosuch", "--tenant", "haneul-shop"]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "error: no queue 'nosuch' for tenant haneul-shop (its queues: support)"
    )
    assert "offered" not in captured.out
    assert main(["queue", "stats", "support", "--tenant", "nosuch"]) == 1
    assert capsys.readouterr().err.strip() == "error: no tenant 'nosuch'"
    add = ["agent", "add", "lee", "--tenant", "haneul-shop", "--endpoint", "PJSIP/lee"]
    assert main([*add, "--queue", "sales:0"]) == 0  # a queue with members only: known
    assert main(["queue", "stats", "sales", "--tenant", "haneul-shop"]) == 0
    assert "queue sales (" in capsys.readouterr().out
