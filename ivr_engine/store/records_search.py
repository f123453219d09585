"""Call records search for the admin API and the console: a page of records, one record
with its queue stays and offers, and the records of an export, each inside a ``Reach``.

The reach is part of every statement's WHERE clause (the tenant set of the principal, the
branch's numbers, a staff member's number, the calls offered to an agent), so another
tenant's record is never read, not even to say it exists.

Lists are newest first with ``(start_time, call_id)`` as the keyset: the next page starts
strictly after the previous page's last row, so rows never repeat or go missing when new
calls arrive meanwhile. Each statement holds only the filters asked for (no
``$n IS NULL OR ...``), so the planner reads a page straight off the index of migration
0071; several dispositions become one ordered branch per disposition, merged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ivr_engine.domain.access import Reach
from ivr_engine.store.executor import Executor

LIST_COLUMNS = (
    "call_id, tenant_id, number, caller, caller_raw, start_time, ring_time, answer_time, "
    "connect_time, end_time, ring_seconds, billsec, duration, disposition, closed_state, "
    "answered_target, hangup_by, hangup_cause"
)
EXPORT_COLUMNS = LIST_COLUMNS + ", attempts"


@dataclass(frozen=True)
class CallSearch:
    """Which records: start time in [start, end), a number, a caller ('' = anonymous), one
    or several dispositions, a tenant. None (or empty) matches everything."""

    start: datetime | None = None
    end: datetime | None = None
    number: str | None = None
    caller: str | None = None
    dispositions: tuple[str, ...] = ()
    tenant_id: str | None = None

    def public(self) -> dict[str, Any]:
        """The filters as the audit log keeps them."""
        out: dict[str, Any] = {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "number": self.number,
            "caller": self.caller,
            "disposition": list(self.dispositions),
            "tenant": self.tenant_id,
        }
        return {k: v for k, v in out.items() if v not in (None, [])}


class Params:
    """The positional parameters of one statement being built."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str = "") -> str:
        """Add a parameter; its placeholder (``$n``, with ``::cast`` when given)."""
        self.values.append(value)
        return f"${len(self.values)}" + (f"::{cast}" if cast else "")


def reach_conditions(reach: Reach, p: Params, alias: str) -> list[str]:
    """The reach as conditions on a table with ``tenant_id``, ``number`` and ``call_id``
    columns (call records, queue stays)."""
    out = []
    tenants = ""
    if reach.tenants is not None and len(reach.tenants) == 1:
        tenants = p(reach.tenants[0])
        out.append(f"{alias}.tenant_id = {tenants}")  # equality: an ordered index scan
    elif reach.tenants is not None:
        tenants = p(list(reach.tenants), "text[]")
        out.append(f"{alias}.tenant_id = ANY({tenants})")
    if reach.branch is not None:
        same = ""
        if tenants:
            one = reach.tenants is not None and len(reach.tenants) == 1
            same = (
                f" AND vn.tenant_id = {tenants}" if one else f" AND vn.tenant_id = ANY({tenants})"
            )
        out.append(
            f"{alias}.number IN (SELECT vn.number FROM virtual_numbers vn "
            f"WHERE vn.branch_id = {p(reach.branch)}{same})"
        )
    if reach.number is not None:
        out.append(f"{alias}.number = {p(reach.number)}")
    if reach.agent is not None:
        out.append(
            f"{alias}.call_id IN (SELECT o.call_id FROM queue_offers o "
            f"WHERE o.agent_id = {p(reach.agent)})"
        )
    return out


def _conditions(reach: Reach, search: CallSearch, p: Params) -> list[str]:
    out = reach_conditions(reach, p, "r")
    if search.tenant_id is not None:
        out.append(f"r.tenant_id = {p(search.tenant_id)}")
    if search.start is not None:
        out.append(f"r.start_time >= {p(search.start, 'timestamptz')}")
    if search.end is not None:
        out.append(f"r.start_time < {p(search.end, 'timestamptz')}")
    if search.number is not None:
        out.append(f"r.number = {p(search.number)}")
    if search.caller is not None:
        out.append(f"r.caller = {p(search.caller)}")
    return out


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def page_statement(
    reach: Reach, search: CallSearch, after: tuple[datetime, str] | None, limit: int
) -> tuple[str, list[Any]]:
    """The SQL and parameters of one page (``limit`` rows after the keyset ``after``), each
    row with its tenant's zone (``timezone``, NULL for an unknown tenant)."""
    p = Params()
    base = _conditions(reach, search, p)
    if after is not None:
        base.append(f"(r.start_time, r.call_id) < ({p(after[0], 'timestamptz')}, {p(after[1])})")
    lim = p(limit, "int")
    cols = ", ".join("r." + c.strip() for c in LIST_COLUMNS.split(","))
    dispositions = search.dispositions or (None,)
    branches = []
    for d in dispositions:
        conds = base if d is None else [*base, f"r.disposition = {p(d)}"]
        branches.append(
            f"(SELECT {cols} FROM call_records r{_where(conds)} "
            f"ORDER BY r.start_time DESC, r.call_id DESC LIMIT {lim})"
        )
    sql = (
        f"SELECT page.*, t.timezone FROM ({' UNION ALL '.join(branches)}) page "
        "LEFT JOIN tenants t ON t.id = page.tenant_id "
        f"ORDER BY page.start_time DESC, page.call_id DESC LIMIT {lim}"
    )
    return sql, p.values


CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"


async def search_page(
    conn: asyncpg.Connection,
    reach: Reach,
    search: CallSearch,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[asyncpg.Record]:
    """Up to ``limit`` records inside ``reach`` matching ``search``, newest first, after the
    keyset ``after`` (the previous page's last start time and call id).

    Planned for its values each time (``CUSTOM_PLANS``, in a transaction of its own): a
    generic plan cannot know how narrow a period or how rare a disposition is, and picks
    the wrong index for one of them (a page of 5 ms became one of 50 after five runs)."""
    sql, args = page_statement(reach, search, after, limit)
    async with conn.transaction(readonly=True):
        await conn.execute(CUSTOM_PLANS)
        return list(await conn.fetch(sql, *args))


async def get_call(db: Executor, reach: Reach, call_id: str) -> asyncpg.Record | None:
    """One record (every column, and its tenant's zone) if inside ``reach``, else None."""
    p = Params()
    conds = [f"r.call_id = {p(call_id)}", *reach_conditions(reach, p, "r")]
    return await db.fetchrow(
        "SELECT r.*, t.timezone FROM call_records r LEFT JOIN tenants t ON t.id = r.tenant_id"
        + _where(conds),
        *p.values,
    )


async def queue_story(
    db: Executor, call_id: str, tenant_id: str | None, agent: str | None
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """A call's stays in queues and its offers to agents (an agent sees only their own)."""
    stays = await db.fetch(
        "SELECT queue_id, position, entered_at, left_at, outcome, agent_id, answered_at, "
        "ended_at FROM queue_calls WHERE call_id = $1 AND tenant_id IS NOT DISTINCT FROM $2 "
        "ORDER BY entered_at",
        call_id,
        tenant_id,
    )
    offers = await db.fetch(
        "SELECT queue_id, agent_id, offered_at, result, ring_seconds FROM queue_offers "
        "WHERE call_id = $1 AND tenant_id IS NOT DISTINCT FROM $2 "
        "AND ($3::text IS NULL OR agent_id = $3) ORDER BY offered_at, id",
        call_id,
        tenant_id,
        agent,
    )
    return list(stays), list(offers)


async def export_rows(
    conn: asyncpg.Connection,
    reach: Reach,
    search: CallSearch,
    *,
    limit: int | None = None,
    prefetch: int = 1000,
) -> AsyncIterator[asyncpg.Record]:
    """Every record inside ``reach`` matching ``search``, newest first (as the list shows
    them), read through a server-side cursor; ``conn`` must be in a transaction."""
    p = Params()
    conds = _conditions(reach, search, p)
    if search.dispositions:
        conds.append(f"r.disposition = ANY({p(list(search.dispositions), 'text[]')})")
    cols = ", ".join("r." + c.strip() for c in EXPORT_COLUMNS.split(","))
    await conn.execute(CUSTOM_PLANS)
    sql = (
        f"SELECT {cols}, t.timezone FROM call_records r LEFT JOIN tenants t "
        f"ON t.id = r.tenant_id{_where(conds)} ORDER BY r.start_time DESC, r.call_id DESC"
    )
    if limit is not None:
        sql += f" LIMIT {p(limit, 'int')}"
    async for row in conn.cursor(sql, *p.values, prefetch=prefetch):
        yield row
