"""The minute ledger in Postgres: charges, allocations, call reservations and settlements.

Append-only (a trigger refuses UPDATE and DELETE); a balance is the SUM of an account's rows
(``domain.minutes``). Operations on the tenant's pool lock the tenant's row, operations on a
member lock the member's row (``SELECT ... FOR UPDATE``), always tenant first, so two calls
of one member racing for its last minutes take turns: the second sees what the first took.
Every function takes a pool or a connection and returns plain values or dataclasses (for
the CLI and the admin API alike); ``now`` states the time the rows are written at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from ivr_engine.domain.members import OutboundRules
from ivr_engine.domain.minutes import (
    EntryKind,
    LedgerEntry,
    charge_for,
    expiry,
    minutes_text,
    period_start,
    talk_limit,
)
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.records import CallRecord
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.store.cdr_queries import insert_record
from ivr_engine.store.members import tenant_outbound_rules
from ivr_engine.store.queries import queries

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection


@dataclass(frozen=True)
class Allocation:
    """The balances after minutes moved from the pool to a member (seconds)."""

    pool_seconds: int
    member_seconds: int


@asynccontextmanager
async def _transaction(db: Db, now: datetime | None) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction, its ``ivr_now()`` set to ``now`` when given."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            if now is not None:
                await conn.execute(queries()["set_now"], now)
            yield conn
    else:
        async with db.transaction():
            if now is not None:
                await db.execute(queries()["set_now"], now)
            yield db


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        row["id"],
        row["tenant_id"],
        row["member"],
        EntryKind(row["kind"]),
        row["seconds"],
        row["call_id"],
        row["reason"],
        row["created_at"],
    )


async def _rules(conn: asyncpg.Connection, tenant_id: str) -> tuple[OutboundRules, str]:
    row = await conn.fetchrow(queries()["tenant_row"], tenant_id)
    if row is None:
        raise NotFoundError(f"tenant {tenant_id} does not exist")
    return await tenant_outbound_rules(conn, tenant_id) or OutboundRules(), row["timezone"]


async def _lock_member(conn: asyncpg.Connection, tenant_id: str, member: str) -> None:
    if await conn.fetchrow(queries()["member_for_update"], tenant_id, member) is None:
        raise NotFoundError(f"tenant {tenant_id} has no member {mask(member)}")


async def _roll(conn: asyncpg.Connection, tenant_id: str, member: str | None) -> int:
    """Close the previous period of an account if allowances reset monthly and it was not
    closed yet (an ``expire`` row); the account's balance afterwards."""
    rules, timezone = await _rules(conn, tenant_id)
    start = period_start(await conn.fetchval(queries()["now"]), timezone, rules.reset)
    if start is not None:
        row = await conn.fetchrow(queries()["ledger_period"], tenant_id, member, start)
        lapse = expiry(int(row["before"]), bool(row["expired"]))
        if lapse:
            reason = f"monthly reset {start:%Y-%m}"
            await conn.execute(
                queries()["ledger_insert"], tenant_id, member, "expire", lapse, None, reason
            )
    return int(await conn.fetchval(queries()["ledger_balance"], tenant_id, member))


async def charge(
    db: Db,
    tenant_id: str,
    seconds: int,
    reason: str,
    *,
    coupon: bool = False,
    now: datetime | None = None,
) -> LedgerEntry:
    """Add minutes to the tenant's pool (an admin's charge, or a coupon)."""
    if seconds <= 0:
        raise ValidationError("a charge adds at least one second", "minutes")
    if not reason.strip():
        raise ValidationError("say why minutes are charged (--reason)", "reason")
    async with _transaction(db, now) as conn:
        if await conn.fetchrow(queries()["lock_tenant"], tenant_id) is None:
            raise NotFoundError(f"tenant {tenant_id} does not exist")
        await _roll(conn, tenant_id, None)
        kind = EntryKind.COUPON if coupon else EntryKind.CHARGE
        row = await conn.fetchrow(
            queries()["ledger_insert"], tenant_id, None, kind.value, seconds, None, reason
        )
    return _entry(row)


async def allocate(
    db: Db,
    tenant_id: str,
    member: str,
    seconds: int,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> Allocation:
    """Move minutes from the pool to a member (negative: back to the pool); refused
    (ConflictError) when the giving side has less than that."""
    if seconds == 0:
        raise ValidationError("allocate a number of minutes other than 0", "minutes")
    async with _transaction(db, now) as conn:
        if await conn.fetchrow(queries()["lock_tenant"], tenant_id) is None:
            raise NotFoundError(f"tenant {tenant_id} does not exist")
        await _lock_member(conn, tenant_id, member)
        pool_balance = await _roll(conn, tenant_id, None)
        member_balance = await _roll(conn, tenant_id, member)
        giver, has = ("the pool", pool_balance) if seconds > 0 else ("the member", member_balance)
        if has < abs(seconds):
            raise ConflictError(
                f"{giver} has {minutes_text(has)}; {minutes_text(abs(seconds))} cannot be moved"
            )
        insert = queries()["ledger_insert"]
        text = reason or ("allocated" if seconds > 0 else "taken back")
        await conn.execute(insert, tenant_id, None, "allocate", -seconds, None, text)
        await conn.execute(insert, tenant_id, member, "allocate", seconds, None, text)
    return Allocation(pool_balance - seconds, member_balance + seconds)


async def reserve(
    db: Db,
    tenant_id: str,
    member: str,
    call_id: str,
    longest: int,
    *,
    now: datetime | None = None,
) -> int:
    """Set a call's talk limit aside, under the member's row lock: the member's balance
    rounded down to the charging unit, at most ``longest`` seconds; 0 (nothing written)
    when not one unit is left. The same call reserving again gets its reservation."""
    async with _transaction(db, now) as conn:
        await _lock_member(conn, tenant_id, member)
        for kind, seconds in await conn.fetch(queries()["ledger_call"], call_id):
            if kind == EntryKind.RESERVE:
                return int(-seconds)
        available = await _roll(conn, tenant_id, member)
        rules, _ = await _rules(conn, tenant_id)
        limit = talk_limit(available, rules.rounding, longest)
        if limit > 0:
            await conn.execute(
                queries()["ledger_insert_call"],
                tenant_id,
                member,
                "reserve",
                -limit,
                call_id,
                "talk limit",
            )
        return limit


async def settle(
    db: Db, tenant_id: str, member: str, call_id: str, charged: int, *, now: datetime | None = None
) -> int:
    """A call's end: release its reservation and use what it cost (at most what was
    reserved). Idempotent; returns the seconds used (0 without a reservation)."""
    async with _transaction(db, now) as conn:
        rows = dict(await conn.fetch(queries()["ledger_call"], call_id))
        if EntryKind.USE.value in rows:
            return int(-rows[EntryKind.USE.value])
        reserved = -int(rows.get(EntryKind.RESERVE.value, 0))
        if reserved == 0:
            return 0
        used = max(0, min(charged, reserved))
        insert = queries()["ledger_insert_call"]
        await conn.execute(insert, tenant_id, member, "release", reserved, call_id, "call ended")
        await conn.execute(insert, tenant_id, member, "use", -used, call_id, "talk time")
        return used


async def settle_outbound(conn: asyncpg.Connection, records: Sequence[CallRecord]) -> None:
    """CDR writer companion: settle the allowance of each outbound record in the record's
    own transaction (inbound records are left alone)."""
    for r in records:
        if r.direction == "outbound" and r.member and r.tenant_id:
            await settle(conn, r.tenant_id, r.member, r.call_id, r.charged_seconds or 0)


async def balance(
    db: Db, tenant_id: str, member: str | None = None, *, now: datetime | None = None
) -> int:
    """An account's balance in seconds (``member`` None: the pool), after closing a period
    that ended (monthly reset)."""
    async with _transaction(db, now) as conn:
        if member is not None:
            await _lock_member(conn, tenant_id, member)
        else:
            await _rules(conn, tenant_id)
        return await _roll(conn, tenant_id, member)


async def ledger(
    db: Db, tenant_id: str, member: str | None = None, limit: int = 50
) -> list[LedgerEntry]:
    """An account's ledger rows, newest first."""
    rows = await db.fetch(queries()["ledger_rows"], tenant_id, member, limit)
    return [_entry(r) for r in rows]


async def member_balances(db: Db, tenant_id: str) -> dict[str, int]:
    """Every member's balance (seconds) by mobile."""
    rows = await db.fetch(queries()["ledger_member_balances"], tenant_id)
    return {r["member"]: int(r["seconds"]) for r in rows}


__all__ = [
    "Allocation",
    "allocate",
    "balance",
    "charge",
    "charge_for",
    "ledger",
    "member_balances",
    "record_outbound",
    "reserve",
    "settle",
    "settle_outbound",
]


async def record_outbound(db: Db, record: CallRecord) -> bool:
    """Store an outbound call's record and settle its minutes in one transaction (the
    record's: both commit or neither); False when the record was stored before."""
    async with _transaction(db, None) as conn:
        new = await insert_record(conn, record)
        if new:
            await settle_outbound(conn, [record])
    return new
