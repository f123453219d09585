"""Callback text figures for metrics: counters kept by this process and outbox gauges read
from the database.

``stats(pool)`` returns one snapshot::

    {"sent": 12, "failed": {"gave_up": 1}, "suppressed": {"duplicate": 3, "opted_out": 1},
     "retries": 4, "discarded": 0, "errors": 0,
     "depth": {"held": 2, "queued": 5, "sending": 1}, "oldest_queued_age_seconds": 0.8}

Counters only grow (Prometheus counters); depth and age are gauges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ivr_engine.store.queries import queries


@dataclass
class SmsCounters:
    """Process-wide counts of what happened to texts."""

    sent: int = 0
    retries: int = 0
    discarded: int = 0
    errors: int = 0  # decisions that could not be made (logged with the cause)
    failed: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain data."""
        return {
            "sent": self.sent,
            "retries": self.retries,
            "discarded": self.discarded,
            "errors": self.errors,
            "failed": dict(self.failed),
            "suppressed": dict(self.suppressed),
        }


COUNTERS = SmsCounters()


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


async def stats(
    pool: asyncpg.Pool | asyncpg.Connection,
    clock: Callable[[], datetime] = utc_now,
    counters: SmsCounters = COUNTERS,
) -> dict[str, Any]:
    """Counters of this process plus the outbox depth by state and the age in seconds of
    the oldest text that is due but still queued (0 when none is)."""
    now = clock()
    rows = await pool.fetch(queries()["sms_depth"])
    oldest = await pool.fetchval(queries()["sms_oldest_due"], now)
    depth = {"held": 0, "queued": 0, "sending": 0}
    depth.update({r["state"]: int(r["n"]) for r in rows})
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return {**counters.snapshot(), "depth": depth, "oldest_queued_age_seconds": age}
