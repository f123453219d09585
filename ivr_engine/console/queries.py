"""The console's read-only queries, with the principal's reach in every WHERE clause
(tenants, branch, number, agent), so a page never reads another tenant's rows.

Parameters $1..$4 are always the reach (``reach_params``); a page's own filters follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr_engine.domain.access import Reach
from ivr_engine.store.executor import Executor

# Call records (alias r) inside the reach.
_RECORDS_REACH = (
    "($1::text[] IS NULL OR r.tenant_id = ANY($1)) "
    "AND ($2::text IS NULL OR r.number IN "
    "(SELECT number FROM virtual_numbers WHERE branch_id = $2)) "
    "AND ($3::text IS NULL OR r.number = $3) "
    "AND ($4::text IS NULL OR r.call_id IN (SELECT call_id FROM queue_offers WHERE agent_id = $4))"
)


def reach_params(reach: Reach) -> tuple[Any, ...]:
    """$1 tenants, $2 branch, $3 number, $4 agent."""
    tenants = list(reach.tenants) if reach.tenants is not None else None
    return tenants, reach.branch, reach.number, reach.agent


@dataclass(frozen=True)
class RecordFilter:
    """The records page's filters; None matches everything."""

    start: datetime | None = None
    end: datetime | None = None
    number: str | None = None
    caller: str | None = None
    disposition: str | None = None


_RECORD_COLUMNS = (
    "r.call_id, r.tenant_id, r.number, r.caller, r.caller_raw, r.start_time, r.ring_time, "
    "r.answer_time, r.end_time, r.ring_seconds, r.billsec, r.duration, r.disposition, "
    "r.closed_state, r.answered_target, r.hangup_by, r.hangup_cause, r.plan_state, "
    "r.direction, r.member, r.caller_id_shown, r.destination, r.charged_seconds, "
    "(SELECT m.name FROM members m WHERE m.mobile = r.member AND m.tenant_id = r.tenant_id) "
    "AS member_name"
)


async def list_records(
    db: Executor, reach: Reach, flt: RecordFilter, *, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Records matching ``flt`` inside ``reach``, newest first."""
    rows = await db.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM call_records r WHERE {_RECORDS_REACH} "
        "AND ($5::timestamptz IS NULL OR r.start_time >= $5) "
        "AND ($6::timestamptz IS NULL OR r.start_time < $6) "
        "AND ($7::text IS NULL OR r.number = $7) AND ($8::text IS NULL OR r.caller = $8) "
        "AND ($9::text IS NULL OR r.disposition = $9) "
        "ORDER BY r.start_time DESC, r.call_id LIMIT $10 OFFSET $11",
        *reach_params(reach),
        flt.start,
        flt.end,
        flt.number,
        flt.caller,
        flt.disposition,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


async def get_record(db: Executor, reach: Reach, call_id: str) -> dict[str, Any] | None:
    """One record with its attempts, prompts and reasons, if inside ``reach``."""
    row = await db.fetchrow(
        f"SELECT {_RECORD_COLUMNS}, r.connect_time, r.attempts, r.prompts, r.reasons, "
        "r.config_version, r.node FROM call_records r "
        f"WHERE {_RECORDS_REACH} AND r.call_id = $5",
        *reach_params(reach),
        call_id,
    )
    return dict(row) if row else None


@dataclass(frozen=True)
class Counts:
    """Calls of one period (a day or an hour): offered (blocked callers' excluded)."""

    period: Any
    offered: int
    answered: int
    blocked: int
    unique_callers: int = 0

    @property
    def missed(self) -> int:
        """Offered but not answered."""
        return self.offered - self.answered

    @property
    def rate(self) -> float | None:
        """Answered / offered (None with nothing offered)."""
        return self.answered / self.offered if self.offered else None


_COUNTS = (
    "count(*) FILTER (WHERE r.disposition <> 'BLOCKED') AS offered, "
    "count(*) FILTER (WHERE r.disposition = 'ANSWERED') AS answered, "
    "count(*) FILTER (WHERE r.disposition = 'BLOCKED') AS blocked, "
    "count(DISTINCT nullif(r.caller, '')) AS unique_callers"
)


async def counts(
    db: Executor,
    reach: Reach,
    *,
    start: datetime,
    end: datetime,
    by: str,
    zone: str,
    number: str | None = None,
) -> list[Counts]:
    """Calls in [start, end) inside ``reach`` per local day (``by="day"``) or hour of the
    day (``by="hour"``) in ``zone``."""
    if by not in ("day", "hour"):
        raise ValueError(f"by must be day or hour, not {by!r}")
    bucket = (
        "(r.start_time AT TIME ZONE $7)::date"
        if by == "day"
        else "extract(hour FROM r.start_time AT TIME ZONE $7)::integer"
    )
    rows = await db.fetch(
        f"SELECT {bucket} AS period, {_COUNTS} FROM call_records r WHERE {_RECORDS_REACH} "
        "AND r.direction = 'inbound' AND r.start_time >= $5 AND r.start_time < $6 "
        "AND ($8::text IS NULL OR r.number = $8) "
        "GROUP BY 1 ORDER BY 1",
        *reach_params(reach),
        start,
        end,
        zone,
        number,
    )
    return [Counts(**dict(r)) for r in rows]


async def first_time_callers(
    db: Executor, reach: Reach, *, start: datetime, end: datetime, zone: str
) -> dict[Any, int]:
    """Per local day: callers whose first call ever (inside the reach) was that day."""
    rows = await db.fetch(
        "SELECT (first AT TIME ZONE $7)::date AS day, count(*) AS n FROM ("
        "SELECT r.caller, min(r.start_time) AS first FROM call_records r "
        f"WHERE {_RECORDS_REACH} AND r.direction = 'inbound' AND r.caller <> '' "
        "AND r.start_time < $6 GROUP BY r.caller"
        ") f WHERE first >= $5 GROUP BY 1",
        *reach_params(reach),
        start,
        end,
        zone,
    )
    return {r["day"]: r["n"] for r in rows}


async def sms_sent(db: Executor, reach: Reach, *, start: datetime, end: datetime) -> int:
    """Texts sent in [start, end) by numbers inside the reach."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM sms_outbox r WHERE ($1::text[] IS NULL OR r.tenant_id = ANY($1))"
            " AND ($2::text IS NULL OR r.number IN "
            "(SELECT number FROM virtual_numbers WHERE branch_id = $2)) "
            "AND ($3::text IS NULL OR r.number = $3) AND $4::text IS NULL "
            "AND r.state = 'sent' AND r.sent_at >= $5 AND r.sent_at < $6",
            *reach_params(reach),
            start,
            end,
        )
    )


async def list_sms(
    db: Executor, reach: Reach, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest texts of the outbox inside the reach."""
    rows = await db.fetch(
        "SELECT r.id, r.tenant_id, r.number, r.recipient, r.trigger, r.state, r.reason, r.kind, "
        "r.body, r.send_after, r.sent_at, r.delivery_status, r.created_at FROM sms_outbox r "
        "WHERE ($1::text[] IS NULL OR r.tenant_id = ANY($1)) "
        "AND ($2::text IS NULL OR r.number IN "
        "(SELECT number FROM virtual_numbers WHERE branch_id = $2)) "
        "AND ($3::text IS NULL OR r.number = $3) AND $4::text IS NULL "
        "AND ($5::text IS NULL OR r.state = $5) ORDER BY r.id DESC LIMIT $6",
        *reach_params(reach),
        state,
        limit,
    )
    return [dict(r) for r in rows]


async def sms_ids_in_reach(db: Executor, reach: Reach, ids: list[int]) -> list[int]:
    """Those of the texts ``ids`` that are inside the reach."""
    rows = await db.fetch(
        "SELECT r.id FROM sms_outbox r WHERE ($1::text[] IS NULL OR r.tenant_id = ANY($1)) "
        "AND ($2::text IS NULL OR r.number IN "
        "(SELECT number FROM virtual_numbers WHERE branch_id = $2)) "
        "AND ($3::text IS NULL OR r.number = $3) AND $4::text IS NULL "
        "AND r.id = ANY($5::bigint[]) ORDER BY r.id",
        *reach_params(reach),
        ids,
    )
    return [int(r["id"]) for r in rows]


_AGENT_SELECT = (
    "SELECT a.id, a.tenant_id, a.name, a.endpoint, a.state, a.reason, a.state_since, "
    "a.reachable, coalesce((SELECT string_agg(m.queue_id, ', ' ORDER BY m.queue_id) "
    "FROM queue_members m WHERE m.agent_id = a.id), '') AS queues FROM agents a "
    # Agents belong to a tenant; staff limited to one number see none, an agent only themself.
    "WHERE ($1::text[] IS NULL OR a.tenant_id = ANY($1)) AND $2::text IS NULL "
    "AND ($3::text IS NULL OR a.id = $3)"
)


def _agent_params(reach: Reach) -> tuple[Any, ...]:
    tenants = list(reach.tenants) if reach.tenants is not None else None
    return tenants, reach.number, reach.agent


async def list_agents(db: Executor, reach: Reach) -> list[dict[str, Any]]:
    """Agents inside the reach (an agent sees only themself) with their queues."""
    rows = await db.fetch(f"{_AGENT_SELECT} ORDER BY a.tenant_id, a.id", *_agent_params(reach))
    return [dict(r) for r in rows]


async def get_agent(db: Executor, reach: Reach, agent_id: str) -> dict[str, Any] | None:
    """One agent inside the reach, as ``list_agents`` shows it."""
    row = await db.fetchrow(f"{_AGENT_SELECT} AND a.id = $4", *_agent_params(reach), agent_id)
    return dict(row) if row else None


async def alerts(db: Executor, reach: Reach, *, since: datetime) -> list[tuple[str, str]]:
    """What needs a person: (kind, subject) for failed texts since ``since``, texts waiting
    for approval, logged-in agents whose phone is unreachable, paused numbers."""
    params = reach_params(reach)
    out: list[tuple[str, str]] = []
    sms = await db.fetch(
        "SELECT r.state, count(*) AS n FROM sms_outbox r "
        "WHERE ($1::text[] IS NULL OR r.tenant_id = ANY($1)) AND ($2::text IS NULL OR r.number "
        "IN (SELECT number FROM virtual_numbers WHERE branch_id = $2)) "
        "AND ($3::text IS NULL OR r.number = $3) AND $4::text IS NULL "
        "AND ((r.state = 'failed' AND r.updated_at >= $5) OR r.state = 'held') GROUP BY 1",
        *params,
        since,
    )
    out += [(f"sms_{r['state']}", str(r["n"])) for r in sms]
    agents = await db.fetch(
        f"{_AGENT_SELECT} AND a.state <> 'offline' AND NOT a.reachable ORDER BY a.id",
        *_agent_params(reach),
    )
    out += [("agent_unreachable", r["id"]) for r in agents]
    paused = await db.fetch(
        "SELECT vn.number FROM virtual_numbers vn WHERE "
        "($1::text[] IS NULL OR vn.tenant_id = ANY($1)) AND ($2::text IS NULL OR "
        "vn.branch_id = $2) AND ($3::text IS NULL OR vn.number = $3) AND $4::text IS NULL "
        "AND vn.status = 'paused' ORDER BY 1",
        *params,
    )
    out += [("number_paused", r["number"]) for r in paused]
    return out
