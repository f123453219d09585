"""``ivr-engine minutes charge | allocate | show | sweep``: minute allowances from the
ledger, members' outbound statistics, and releasing reservations never settled."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from ivr_engine.app import open_database
from ivr_engine.domain.minutes import LedgerEntry, minutes_text
from ivr_engine.domain.numbers import mask
from ivr_engine.errors import NotFoundError
from ivr_engine.settings import load_settings
from ivr_engine.store import minutes as store
from ivr_engine.store.members import resolve_member
from ivr_engine.store.minute_sweep import release_stale
from ivr_engine.store.outbound_desk import member_stats
from ivr_engine.store.queries import queries


def format_entry(entry: LedgerEntry, timezone: str) -> str:
    """One ledger row on one line, its time in the tenant's zone."""
    when = entry.created_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")
    sign = "+" if entry.seconds > 0 else ""
    parts = [f"#{entry.id}", when, f"{entry.kind.value:<8}", f"{sign}{entry.seconds} s"]
    if entry.call_id:
        parts.append(f"call {entry.call_id}")
    if entry.reason:
        parts.append(entry.reason)
    return "  ".join(parts)


async def _zone(pool: asyncpg.Pool, tenant_id: str) -> str:
    row = await pool.fetchrow(queries()["tenant_row"], tenant_id)
    if row is None:
        raise NotFoundError(f"tenant {tenant_id} does not exist")
    return str(row["timezone"])


def _run(args: argparse.Namespace, job: Callable[[asyncpg.Pool], Awaitable[Any]]) -> int:
    async def main() -> Any:
        async with open_database(load_settings(args.config), max_size=1) as db:
            return await job(db.pool)

    print(asyncio.run(main()))
    return 0


async def _charge(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    entry = await store.charge(pool, a.tenant, a.minutes * 60, a.reason, coupon=a.coupon)
    left = await store.balance(pool, a.tenant)
    return (
        f"{a.tenant}: {entry.kind.value} {minutes_text(entry.seconds)}; pool {minutes_text(left)}"
    )


async def _allocate(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    member = await resolve_member(pool, a.tenant, a.member)
    done = await store.allocate(pool, a.tenant, member.mobile, a.minutes * 60, a.reason)
    return (
        f"{a.tenant}: {minutes_text(a.minutes * 60)} to {member.name} ({mask(member.mobile)}); "
        f"pool {minutes_text(done.pool_seconds)}, {member.name} {minutes_text(done.member_seconds)}"
    )


async def _show(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    zone = await _zone(pool, a.tenant)
    mobile = None
    title = f"{a.tenant} pool"
    if a.member:
        member = await resolve_member(pool, a.tenant, a.member)
        mobile, title = member.mobile, f"{a.tenant} {member.name} ({mask(member.mobile)})"
    seconds = await store.balance(pool, a.tenant, mobile)
    lines = [f"{title}: {minutes_text(seconds)} ({seconds} s)"]
    balances = await store.member_balances(pool, a.tenant)
    since = datetime.now(UTC) - timedelta(days=a.days)
    for s in await member_stats(pool, a.tenant, since):
        if mobile is None or s.mobile == mobile:
            lines.append(
                f"  member {s.name} ({mask(s.mobile)}): {minutes_text(balances.get(s.mobile, 0))}"
                f" left; last {a.days} days: {s.calls} calls, {s.answered} answered, "
                f"talked {minutes_text(s.talk_seconds)}, charged {minutes_text(s.charged_seconds)}"
            )
    rows = await store.ledger(pool, a.tenant, mobile, a.limit)
    lines += [format_entry(e, zone) for e in rows]
    return "\n".join(lines)


async def _sweep(pool: asyncpg.Pool, _a: argparse.Namespace) -> str:
    done = await release_stale(pool, datetime.now(UTC))
    lines = [f"{len(done)} stale reservation(s) released"]
    lines += [
        f"  {r.tenant_id} {mask(r.member)} call {r.call_id}: {minutes_text(r.seconds)}"
        for r in done
    ]
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``minutes charge | allocate | show``."""
    p = subparsers.add_parser("minutes", help="minute allowances for outbound calls")
    sub = p.add_subparsers(dest="minutes_command", metavar="ACTION", required=True)
    q = sub.add_parser("charge", help="add minutes to a tenant's pool")
    q.add_argument("tenant")
    q.add_argument("minutes", type=int)
    q.add_argument("--reason", required=True, help="why (kept in the ledger)")
    q.add_argument("--coupon", action="store_true", help="the minutes come from a coupon")
    q.set_defaults(func=lambda a: _run(a, lambda pool: _charge(pool, a)))
    q = sub.add_parser("allocate", help="give a member minutes from the pool (negative: take back)")
    q.add_argument("tenant")
    q.add_argument("member", help="the member's mobile or name")
    q.add_argument("minutes", type=int)
    q.add_argument("--reason", default="")
    q.set_defaults(func=lambda a: _run(a, lambda pool: _allocate(pool, a)))
    q = sub.add_parser("show", help="a balance from the ledger, and the ledger's rows")
    q.add_argument("tenant")
    q.add_argument("member", nargs="?", help="a member's mobile or name (default: the pool)")
    q.add_argument("--limit", type=int, default=50, help="rows shown, newest first")
    q.add_argument("--days", type=int, default=30, help="members' call statistics period")
    q.set_defaults(func=lambda a: _run(a, lambda pool: _show(pool, a)))
    q = sub.add_parser(
        "sweep", help="release reservations of calls that were never settled (killed dial)"
    )
    q.set_defaults(func=lambda a: _run(a, lambda pool: _sweep(pool, a)))
