"""Call records in PostgreSQL: the row a record becomes, which database errors mean "try
again later", and the queries over the records (call history, per-number statistics by day
or by hour in the tenant's zone, CSV export).

SQL lives in ``sql/queries/cdr.sql``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from ivr_engine.domain.records import CallRecord, Disposition, attempts_json
from ivr_engine.store.queries import queries

# Columns of the writer's staging table, in the order ``record_row`` produces them.
STAGING_COLUMNS: Sequence[str] = (
    "call_id",
    "uniqueid",
    "linkedid",
    "tenant_id",
    "number",
    "caller",
    "caller_raw",
    "start_time",
    "ring_time",
    "answer_time",
    "connect_time",
    "end_time",
    "ring_seconds",
    "billsec",
    "duration",
    "disposition",
    "closed_state",
    "asterisk_disposition",
    "answered_target",
    "hangup_by",
    "hangup_cause",
    "plan_state",
    "config_version",
    "node",
    "detail",
    "channel",
    "dstchannel",
    "direction",
    "member",
    "caller_id_shown",
    "destination",
    "charged_seconds",
)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# SQLSTATEs worth retrying: connection (08), resources (53), operator intervention (57),
# system (58), rollbacks (40); read-only, missing table or privilege (not ready yet).
_TRANSIENT_CLASSES = frozenset({"08", "53", "57", "58", "40"})
_TRANSIENT_STATES = frozenset({"25006", "42P01", "42501", "55006"})


def is_transient(exc: BaseException) -> bool:
    """True when the error means "the database is not reachable now", not "this record is
    bad": the batch is journaled and retried rather than rejected."""
    if isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES
    return False


def record_row(r: CallRecord) -> tuple[Any, ...]:
    """A record as a row of ``STAGING_COLUMNS``; attempts, prompts and reasons travel as one
    JSON text (one encode here, one parse in the server)."""
    return (
        r.call_id,
        r.uniqueid,
        r.linkedid,
        r.tenant_id,
        r.number,
        r.caller,
        r.caller_raw,
        r.start_time,
        r.ring_time,
        r.answer_time,
        r.connect_time,
        r.end_time,
        r.ring_seconds,
        r.billsec,
        r.duration,
        r.disposition.value,
        r.closed_state.value if r.closed_state else None,
        r.asterisk_disposition,
        r.answered_target,
        r.hangup_by,
        r.hangup_cause,
        r.plan_state,
        r.config_version,
        r.node,
        _encode([attempts_json(r.attempts), r.prompts, r.reasons]),
        r.channel,
        r.dstchannel,
        r.direction,
        r.member,
        r.caller_id_shown,
        r.destination,
        r.charged_seconds,
    )


async def insert_record(conn: asyncpg.Connection | asyncpg.Pool, record: CallRecord) -> bool:
    """Store one record by itself (idempotent); True when it was new."""
    status = await conn.execute(queries()["insert_call_record"], *record_row(record))
    return bool(status.endswith(" 1"))


@dataclass(frozen=True)
class CdrFilter:
    """Which records: start time in [start, end), a virtual number, a caller, a disposition.
    None matches everything."""

    start: datetime | None = None
    end: datetime | None = None
    number: str | None = None
    caller: str | None = None
    disposition: Disposition | None = None


@dataclass(frozen=True)
class CdrStats:
    """One row of statistics: a number on a day (or at an hour of the day)."""

    number: str
    period: date | int  # the day (tenant zone), or the hour 0-23
    offered: int  # every call but blocked callers'
    answered: int
    closed: int
    blocked: int
    avg_ring_seconds: float | None
    avg_talk_seconds: float | None

    @property
    def missed(self) -> int:
        """Offered calls that were not answered (closed ones included)."""
        return self.offered - self.answered

    @property
    def answer_rate(self) -> float | None:
        """answered / offered, None when nothing was offered."""
        return self.answered / self.offered if self.offered else None


async def fetch_record(pool: asyncpg.Pool, call_id: str) -> asyncpg.Record | None:
    """One stored record (every column), or None."""
    return await pool.fetchrow(queries()["cdr_get"], call_id)


async def count_records(pool: asyncpg.Pool) -> int:
    """How many records are stored."""
    return int(await pool.fetchval(queries()["cdr_count"]))


async def list_records(pool: asyncpg.Pool, flt: CdrFilter, limit: int = 50) -> list[asyncpg.Record]:
    """Call history matching ``flt``, newest first, at most ``limit`` rows."""
    disposition = flt.disposition.value if flt.disposition else None
    return list(
        await pool.fetch(
            queries()["cdr_list"], flt.start, flt.end, flt.number, flt.caller, disposition, limit
        )
    )


async def stats(
    pool: asyncpg.Pool, flt: CdrFilter, *, by: str = "day", default_zone: str = "Asia/Seoul"
) -> list[CdrStats]:
    """Per number and per day (``by="day"``) or hour of day (``by="hour"``), in each
    tenant's zone (``default_zone`` for records without a known tenant)."""
    if by not in ("day", "hour"):
        raise ValueError(f"by must be day or hour, not {by!r}")
    rows = await pool.fetch(
        queries()[f"cdr_stats_{'daily' if by == 'day' else 'hourly'}"],
        flt.start,
        flt.end,
        flt.number,
        default_zone,
    )
    return [
        CdrStats(
            r["number"],
            r[by],
            r["offered"],
            r["answered"],
            r["closed"],
            r["blocked"],
            _float(r["avg_ring"]),
            _float(r["avg_talk"]),
        )
        for r in rows
    ]


async def export_records(
    pool: asyncpg.Pool, flt: CdrFilter, prefetch: int = 1000
) -> AsyncIterator[asyncpg.Record]:
    """Every record of the period, oldest first, read through a cursor."""
    async with pool.acquire() as conn, conn.transaction():
        async for row in conn.cursor(
            queries()["cdr_export"], flt.start, flt.end, flt.number, prefetch=prefetch
        ):
            yield row


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
