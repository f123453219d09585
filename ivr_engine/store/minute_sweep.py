"""Releasing reservations nobody will settle: a ``dial`` process (or an engine) killed
mid-call leaves its call's ``reserve`` row without a ``release``, and the member's minutes
stay taken. The sweep finds reservations past their talk limit plus
``domain.minutes.STALE_MARGIN_SECONDS`` and writes the ``release`` (reason "stale
reservation released"), under the member's row lock; no ``use`` row is written, since no
one knows how long the call talked. A record arriving later still settles normally: the
release is there once (``ON CONFLICT DO NOTHING``), the use is added.

``ReservationSweep`` runs it every minute in the engine, with ``purge_expired_sessions``
(reverse-masking sessions past their expiry route nothing and are deleted);
``ivr-engine minutes sweep`` runs the release once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ivr_engine.domain.minutes import STALE_MARGIN_SECONDS, reservation_stale
from ivr_engine.domain.numbers import mask
from ivr_engine.store.queries import queries

log = logging.getLogger(__name__)

REASON = "stale reservation released"


@dataclass(frozen=True)
class Released:
    """One reservation the sweep released."""

    tenant_id: str
    member: str
    call_id: str
    seconds: int
    reserved_at: datetime


async def release_stale(pool: asyncpg.Pool, now: datetime, limit: int = 500) -> list[Released]:
    """Release every reservation that is stale at ``now`` (at most ``limit`` per pass)."""
    q = queries()
    rows = await pool.fetch(q["stale_reservations"], now, STALE_MARGIN_SECONDS, limit)
    done: list[Released] = []
    for r in rows:
        if not reservation_stale(r["created_at"], int(r["reserved"]), now):
            continue
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchrow(q["member_for_update"], r["tenant_id"], r["member"])
            status = await conn.execute(
                q["ledger_insert_call"],
                r["tenant_id"],
                r["member"],
                "release",
                int(r["reserved"]),
                r["call_id"],
                REASON,
            )
        if status.endswith(" 1"):  # not settled meanwhile
            done.append(
                Released(
                    r["tenant_id"], r["member"], r["call_id"], int(r["reserved"]), r["created_at"]
                )
            )
            log.warning(
                "call %s of %s never settled: its %d s reservation released",
                r["call_id"],
                mask(r["member"]),
                int(r["reserved"]),
            )
    return done


async def purge_expired_sessions(pool: asyncpg.Pool, now: datetime) -> int:
    """Delete reverse-masking sessions that expired before ``now``; returns how many."""
    status = await pool.execute("DELETE FROM proxy_sessions WHERE expires_at <= $1", now)
    return int(status.split()[-1])


class ReservationSweep:
    """``release_stale`` and ``purge_expired_sessions`` every ``interval`` seconds until
    stopped."""

    def __init__(
        self, pool: asyncpg.Pool, clock: Callable[[], datetime], interval: float = 60.0
    ) -> None:
        self.pool, self.clock, self.interval = pool, clock, interval
        self._task: asyncio.Task[None] | None = None
        self.released = 0
        self.purged = 0

    def start(self) -> None:
        """Start the periodic task."""
        self._task = asyncio.create_task(self._run(), name="reservation-sweep")

    async def stop(self) -> None:
        """Stop it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                now = self.clock()
                self.released += len(await release_stale(self.pool, now))
                self.purged += await purge_expired_sessions(self.pool, now)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("reservation sweep: %s", exc)
            await asyncio.sleep(self.interval)
