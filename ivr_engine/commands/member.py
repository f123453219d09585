"""``ivr-engine member list | add | remove``: the people who call out as the company."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from ivr_engine.app import open_database
from ivr_engine.domain.members import Member, Role
from ivr_engine.domain.numbers import format_number, mask, normalize
from ivr_engine.settings import load_settings
from ivr_engine.store import members as store


def format_member(tenant_id: str, member: Member) -> str:
    """One member on one line, the mobile masked."""
    ids = (
        "any caller ID"
        if member.caller_ids is None
        else "caller IDs " + (", ".join(format_number(n) for n in member.caller_ids) or "none")
    )
    return f"{tenant_id}  {member.name}  {mask(member.mobile)}  {member.role.value}  {ids}"


def _run(args: argparse.Namespace, job: Callable[[asyncpg.Pool], Awaitable[Any]]) -> int:
    async def main() -> Any:
        async with open_database(load_settings(args.config), max_size=1) as db:
            return await job(db.pool)

    print(asyncio.run(main()))
    return 0


async def _list(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    found = await store.list_members(pool, a.tenant)
    lines = [format_member(m.tenant_id, m.member) for m in found]
    return "\n".join([*lines, f"{len(found)} member(s)"])


async def _add(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    ids = None if a.caller_id is None else tuple(normalize(n) for n in a.caller_id)
    member = Member(a.name, normalize(a.mobile), Role(a.role), ids)
    added = await store.add_member(pool, a.tenant, member)
    return "added " + format_member(added.tenant_id, added.member)


async def _remove(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    member = await store.remove_member(pool, a.tenant, a.member)
    return "removed " + format_member(a.tenant, member)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``member list | add | remove``."""
    p = subparsers.add_parser("member", help="members who call out as the company")
    sub = p.add_subparsers(dest="member_command", metavar="ACTION", required=True)
    q = sub.add_parser("list", help="members, by tenant (mobiles masked)")
    q.add_argument("--tenant", help="only this tenant's members")
    q.set_defaults(func=lambda a: _run(a, lambda pool: _list(pool, a)))
    q = sub.add_parser("add", help="add a member to a tenant")
    q.add_argument("tenant")
    q.add_argument("--name", required=True)
    q.add_argument("--mobile", required=True, help="the member's mobile (010-XXXX-XXXX)")
    q.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    q.add_argument(
        "--caller-id",
        action="append",
        help="a caller ID of the tenant the member may show (repeat; default: any)",
    )
    q.set_defaults(func=lambda a: _run(a, lambda pool: _add(pool, a)))
    q = sub.add_parser("remove", help="remove a member (its minute ledger stays)")
    q.add_argument("tenant")
    q.add_argument("member", help="the member's mobile or name")
    q.set_defaults(func=lambda a: _run(a, lambda pool: _remove(pool, a)))
