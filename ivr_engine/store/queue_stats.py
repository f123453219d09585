"""Callers in queues and the statistics built from them, in Postgres.

A caller's stay in a queue is one ``queue_calls`` row: waiting while its outcome is unset
(refreshed by a heartbeat, so a row left behind by a stopped engine stops counting), then
answered, abandoned, overflowed or left for a callback. Offers to agents are ``queue_offers``
rows (see ``store.agents``). Queue events are also written to ``queue_log`` in Asterisk's
layout. The statistics' arithmetic is ``domain.acd``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from ivr_engine.domain.acd import (
    CallOutcome,
    QueueCallFact,
    QueueStats,
    queue_stats,
    state_durations,
)
from ivr_engine.domain.queue_doc import QueueConfig
from ivr_engine.domain.queue_log import QueueLogEntry, data_fields, format_line
from ivr_engine.domain.queue_state import LiveQueue, Stay
from ivr_engine.errors import NotFoundError
from ivr_engine.store.queries import queries

STALE_AFTER = timedelta(seconds=30)  # a waiting row not refreshed for this long is left out


async def enter(
    pool: asyncpg.Pool,
    *,
    call_id: str,
    tenant_id: str,
    queue_id: str,
    number: str,
    caller: str,
    node: str,
    now: datetime,
) -> Stay:
    """A caller joins a queue; returns its row and position."""
    row = await pool.fetchrow(
        queries()["queue_enter"],
        call_id,
        tenant_id,
        queue_id,
        number,
        caller,
        node,
        now,
        now - STALE_AFTER,
    )
    return Stay(row["id"], row["position"])


async def heartbeat(pool: asyncpg.Pool, row_id: int, *, now: datetime) -> int:
    """The caller is still waiting; returns its current position (1 = next)."""
    return int(await pool.fetchval(queries()["queue_heartbeat"], row_id, now, now - STALE_AFTER))


async def leave(
    pool: asyncpg.Pool,
    row_id: int,
    outcome: CallOutcome,
    *,
    now: datetime,
    agent_id: str | None = None,
) -> None:
    """The caller's wait is over: answered (by ``agent_id``), abandoned, overflow, callback."""
    answered = now if outcome is CallOutcome.ANSWERED else None
    await pool.execute(queries()["queue_leave"], row_id, outcome.value, now, agent_id, answered)


async def call_ended(pool: asyncpg.Pool, row_id: int, *, now: datetime) -> None:
    """An answered queue call has ended (talk time = end - answer)."""
    await pool.execute(queries()["queue_call_end"], row_id, now)


async def avg_handle_seconds(pool: asyncpg.Pool, tenant_id: str, queue_id: str) -> float:
    """Average talk time of the queue's recent calls (0 without history)."""
    return float(await pool.fetchval(queries()["queue_handle_time"], tenant_id, queue_id))


async def write_log(pool: asyncpg.Pool, tenant_id: str, entries: Sequence[QueueLogEntry]) -> None:
    """Append queue_log lines."""
    rows = []
    for e in entries:
        data = (list(e.data) + [""] * 5)[:5]
        rows.append((tenant_id, e.time, e.callid, e.queue, e.agent, e.event.value, *data))
    await pool.executemany(queries()["queue_log_insert"], rows)


async def log_lines(
    pool: asyncpg.Pool,
    *,
    start: datetime,
    end: datetime,
    tenant_id: str | None = None,
    queue: str | None = None,
) -> list[str]:
    """The queue_log of a period as Asterisk queue_log lines."""
    rows = await pool.fetch(queries()["queue_log_lines"], tenant_id, queue, start, end)
    lines = []
    for r in rows:
        data = [r[f"data{i}"] for i in range(1, 6)]
        arity = data_fields(r["event"])
        arity = len(data) if arity is None else arity
        lines.append(
            format_line(
                int(r["time"].timestamp()),
                r["callid"],
                r["queuename"],
                r["agent"],
                r["event"],
                data[:arity],
            )
        )
    return lines


async def queue_report(
    pool: asyncpg.Pool, tenant_id: str, queue: QueueConfig, *, start: datetime, end: datetime
) -> QueueStats:
    """A queue's statistics over [start, end) with its own thresholds and definitions."""
    rows = await pool.fetch(queries()["queue_call_facts"], tenant_id, queue.id, start, end)
    facts = [QueueCallFact(CallOutcome(r["outcome"]), r["wait"], r["talk"]) for r in rows]
    return queue_stats(
        facts,
        threshold=queue.service_level_seconds,
        mode=queue.service_level,
        short_abandon=queue.short_abandon_seconds,
    )


@dataclass
class AgentReport:
    """One agent's numbers over a period."""

    agent_id: str
    name: str
    offered: int = 0
    answered: int = 0
    missed: int = 0
    talk_seconds: float = 0.0
    after_call_seconds: float = 0.0
    states: dict[str, float] = field(default_factory=dict)  # seconds per state


async def agent_report(
    pool: asyncpg.Pool, tenant_id: str, *, start: datetime, end: datetime
) -> list[AgentReport]:
    """Per agent: offered, answered, missed, talk time, after-call time, time per state."""
    q = queries()
    async with pool.acquire() as conn:
        offers = await conn.fetch(q["agent_offer_stats"], tenant_id, start, end)
        talks = {
            r["agent_id"]: r["talk"]
            for r in await conn.fetch(q["agent_talk_stats"], tenant_id, start, end)
        }
        spans = await conn.fetch(q["agent_state_spans"], tenant_id, start, end)
    by_agent: dict[str, list[tuple[str, datetime, datetime | None]]] = {}
    for s in spans:
        by_agent.setdefault(s["agent_id"], []).append((s["state"], s["started_at"], s["ended_at"]))
    reports = []
    for r in offers:
        states = state_durations(by_agent.get(r["agent_id"], []), start, end)
        reports.append(
            AgentReport(
                r["agent_id"],
                r["name"],
                r["offered"],
                r["answered"],
                r["missed"],
                talks.get(r["agent_id"], 0.0),
                states.get("wrapup", 0.0),
                states,
            )
        )
    return reports


async def call_types(
    pool: asyncpg.Pool, tenant_id: str, *, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """Calls per call type recorded by agents in a period, most frequent first."""
    rows = await pool.fetch(queries()["call_type_stats"], tenant_id, start, end)
    return [(r["call_type"], r["calls"]) for r in rows]


async def live_queues(pool: asyncpg.Pool, *, now: datetime) -> list[LiveQueue]:
    """Every queue with callers waiting now."""
    rows = await pool.fetch(queries()["queue_waiting_now"], now - STALE_AFTER)
    return [
        LiveQueue(
            r["tenant_id"],
            r["queue_id"],
            r["waiting"],
            max(0.0, (now - r["oldest"]).total_seconds()),
        )
        for r in rows
    ]


async def agent_state_counts(pool: asyncpg.Pool) -> list[tuple[str, str, int]]:
    """(tenant, state, agents) for every state that has agents."""
    rows = await pool.fetch(queries()["agent_states_count"])
    return [(r["tenant_id"], r["state"], r["n"]) for r in rows]


async def require_queue(pool: asyncpg.Pool, tenant_id: str, queue_id: str) -> None:
    """Raise ``NotFoundError`` unless the tenant exists and has the queue: defined in its
    configuration (its own or one of its numbers'), with members, or with calls recorded."""
    row = await pool.fetchrow(queries()["tenant_queue_ids"], tenant_id, queue_id)
    if row is None or not row["tenant_known"]:
        raise NotFoundError(f"no tenant {tenant_id!r}")
    queues = list(row["queues"])
    if queue_id not in queues:
        known = ", ".join(queues) or "none"
        raise NotFoundError(f"no queue {queue_id!r} for tenant {tenant_id} (its queues: {known})")
