"""Call records for the records and statistics tests, stored through the engine's own
insert, with times in Seoul."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.records import CallRecord, ClosedState, Disposition
from ivr_engine.store.cdr_queries import insert_record

KST = timezone(timedelta(hours=9))
DAY = datetime(2026, 11, 20, tzinfo=KST)  # a Friday
TARGET = "01011112222"


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> datetime:
    """A time on DAY (plus ``day`` days) in Seoul."""
    return DAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def record(
    call_id: str,
    number: str,
    caller: str,
    start: datetime,
    disposition: Disposition = Disposition.ANSWERED,
    *,
    tenant: str = "gangnam-pizza",
    ring: float = 4.0,
    talk: int = 30,
) -> CallRecord:
    """A finished call: answered ones ring ``ring`` s and talk ``talk`` s; missed ones ring
    and end; refused ones (closed, blocked, ...) never ring."""
    answered = disposition is Disposition.ANSWERED
    rang = disposition in (
        Disposition.ANSWERED,
        Disposition.NO_ANSWER,
        Disposition.BUSY,
        Disposition.ABANDONED,
    )
    ring_time = start + timedelta(seconds=1) if rang else None
    connect = start + timedelta(seconds=1 + ring) if answered else None
    end = (connect + timedelta(seconds=talk)) if connect else start + timedelta(seconds=1 + ring)
    result = {
        Disposition.ANSWERED: TargetResult.ANSWERED,
        Disposition.BUSY: TargetResult.BUSY,
        Disposition.NO_ANSWER: TargetResult.NO_ANSWER,
        Disposition.ABANDONED: TargetResult.CANCELLED,
    }.get(disposition)
    attempts = (
        (Attempt(TARGET, result, 17 if result is TargetResult.BUSY else None, ring),)
        if (result)
        else ()
    )
    return CallRecord(
        call_id,
        call_id,
        call_id,
        tenant,
        number,
        caller,
        caller,
        start,
        ring_time,
        connect,
        connect,
        end,
        ring if rang else 0.0,
        talk if answered else 0,
        int((end - start).total_seconds()),
        disposition,
        ClosedState.AFTER_HOURS if disposition is Disposition.CLOSED else None,
        "ANSWERED" if answered else "NO ANSWER",
        attempts,
        TARGET if answered else None,
        ({"kind": "coloring", "label": "coloring", "media": "sound:x", "result": "stopped"},)
        if rang
        else (),
        "caller" if not answered else "callee",
        16,
        "open" if rang else "closed",
        ("open 11:00-15:00",),
        7,
        "test-node",
    )


async def store(pool: asyncpg.Pool, *records: CallRecord) -> None:
    """Insert the records."""
    for r in records:
        assert await insert_record(pool, r)
