"""Members, caller IDs and outbound rules of tenants in Postgres.

Plain async functions over a pool or a connection, returning dataclasses, for the loader,
``ivr-engine member`` and the admin API alike. A member is known by its mobile (one member
of one tenant per mobile). SQL lives in ``sql/queries/outbound.sql``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from ivr_engine.domain.members import (
    CallerId,
    Member,
    OutboundRules,
    Role,
    outbound_data,
    parse_outbound,
)
from ivr_engine.domain.model import TenantConfig
from ivr_engine.domain.numbers import NumberKind, format_number, mask, parse_number
from ivr_engine.errors import NotFoundError, ValidationError
from ivr_engine.store.errors import map_db_error
from ivr_engine.store.executor import Executor
from ivr_engine.store.queries import queries


@dataclass(frozen=True)
class TenantMember:
    """A member with the tenant it belongs to."""

    tenant_id: str
    member: Member


@dataclass(frozen=True)
class OutboundContext:
    """Everything an outbound call of one member is planned from."""

    tenant_id: str
    tenant_name: str
    timezone: str
    member: Member
    caller_ids: tuple[CallerId, ...]
    rules: OutboundRules


def _member(row: Mapping[str, Any]) -> Member:
    ids = row["caller_ids"]
    return Member(
        row["name"], row["mobile"], Role(row["role"]), None if ids is None else tuple(ids)
    )


def _rules(data: Any) -> OutboundRules:
    return OutboundRules() if data is None else parse_outbound(data, "outbound")


async def tenant_caller_ids(db: Executor, tenant_id: str) -> tuple[CallerId, ...]:
    """A tenant's caller IDs, in the document's order."""
    rows = await db.fetch(queries()["tenant_caller_ids"], tenant_id)
    return tuple(CallerId(r["number"], r["verified"], r["evidence"]) for r in rows)


async def tenant_members(db: Executor, tenant_id: str) -> tuple[Member, ...]:
    """A tenant's members, in the document's order (then as added)."""
    return tuple(_member(r) for r in await db.fetch(queries()["tenant_members"], tenant_id))


async def tenant_outbound_rules(db: Executor, tenant_id: str) -> OutboundRules | None:
    """A tenant's stored outbound rules; None when it has none (the defaults apply)."""
    data = await db.fetchval(queries()["tenant_outbound_settings"], tenant_id)
    return None if data is None else _rules(data)


async def list_members(db: Executor, tenant_id: str | None = None) -> list[TenantMember]:
    """Every member (of one tenant when given), by tenant."""
    rows = await db.fetch(queries()["all_members"], tenant_id)
    return [TenantMember(r["tenant_id"], _member(r)) for r in rows]


async def find_member(db: Executor, mobile: str) -> TenantMember | None:
    """The member calling from a mobile (any notation), or None."""
    row = await db.fetchrow(queries()["member_by_mobile"], parse_number(mobile).digits)
    return None if row is None else TenantMember(row["tenant_id"], _member(row))


async def resolve_member(db: Executor, tenant_id: str, who: str) -> Member:
    """A tenant's member named by mobile (any notation) or by name; NotFoundError if none."""
    members = await tenant_members(db, tenant_id)
    try:
        digits: str | None = parse_number(who).digits
    except ValidationError:
        digits = None
    for m in members:
        if m.mobile == digits or m.name == who.strip():
            return m
    raise NotFoundError(f"tenant {tenant_id} has no member {mask(who)}")


async def outbound_context(db: Executor, mobile: str) -> OutboundContext:
    """What a member's outbound call is planned from; NotFoundError for an unknown mobile."""
    found = await find_member(db, mobile)
    if found is None:
        raise NotFoundError(f"{mask(mobile)} is not a member of any tenant")
    tenant = await db.fetchrow(queries()["tenant_row"], found.tenant_id)
    return OutboundContext(
        tenant_id=found.tenant_id,
        tenant_name=tenant["name"],
        timezone=tenant["timezone"],
        member=found.member,
        caller_ids=await tenant_caller_ids(db, found.tenant_id),
        rules=await tenant_outbound_rules(db, found.tenant_id) or OutboundRules(),
    )


def _validate(member: Member, caller_ids: tuple[CallerId, ...]) -> None:
    """Refuse a member whose mobile is no mobile or who names undeclared caller IDs."""
    if parse_number(member.mobile).kind is not NumberKind.MOBILE:
        raise ValidationError(f"{mask(member.mobile)} is not a mobile number", "mobile")
    declared = {c.number for c in caller_ids}
    for number in member.caller_ids or ():
        if number not in declared:
            raise ValidationError(
                f"caller ID {format_number(number)} is not one of the tenant's caller IDs",
                "caller_ids",
            )


async def _insert_member(
    db: Executor, tenant_id: str, member: Member, position: int | None = None
) -> None:
    ids = None if member.caller_ids is None else list(member.caller_ids)
    await db.execute(
        queries()["insert_member"],
        tenant_id,
        member.mobile,
        member.name,
        member.role.value,
        ids,
        position,
    )


async def add_member(
    db: asyncpg.Pool | asyncpg.Connection, tenant_id: str, member: Member
) -> TenantMember:
    """Add a member to a tenant (checked like the configuration); ConflictError when the
    mobile is already a member, NotFoundError when the tenant does not exist."""
    if await db.fetchrow(queries()["tenant_row"], tenant_id) is None:
        raise NotFoundError(f"tenant {tenant_id} does not exist")
    _validate(member, await tenant_caller_ids(db, tenant_id))
    try:
        await _insert_member(db, tenant_id, member)
    except asyncpg.PostgresError as exc:
        mapped = map_db_error(exc, f"member {mask(member.mobile)}")
        if mapped is None:
            raise
        raise mapped from exc
    return TenantMember(tenant_id, member)


async def remove_member(db: Executor, tenant_id: str, who: str) -> Member:
    """Remove a member (by mobile or name); its ledger rows stay. NotFoundError if none."""
    member = await resolve_member(db, tenant_id, who)
    await db.execute(queries()["delete_member"], tenant_id, member.mobile)
    return member


async def sync_tenant_outbound(conn: asyncpg.Connection, tenant: TenantConfig) -> bool:
    """Make the stored caller IDs, members and rules those of the document's tenant (each
    only when the document has the key); True when anything changed."""
    q = queries()
    changed = False
    if tenant.caller_ids is not None and (
        await tenant_caller_ids(conn, tenant.id) != tenant.caller_ids
    ):
        await conn.execute(q["delete_tenant_caller_ids"], tenant.id)
        ids = tenant.caller_ids
        await conn.execute(
            q["insert_caller_ids"],
            tenant.id,
            [c.number for c in ids],
            [c.verified for c in ids],
            [c.evidence for c in ids],
        )
        changed = True
    if tenant.members is not None and await tenant_members(conn, tenant.id) != tenant.members:
        await conn.execute(q["delete_tenant_members"], tenant.id)
        for position, member in enumerate(tenant.members):
            await _insert_member(conn, tenant.id, member, position)
        changed = True
    if tenant.outbound is not None and (
        await tenant_outbound_rules(conn, tenant.id) != tenant.outbound
    ):
        await conn.execute(q["upsert_outbound_settings"], tenant.id, outbound_data(tenant.outbound))
        changed = True
    return changed


async def export_tenant_outbound(
    db: Executor, tenant_id: str
) -> tuple[tuple[CallerId, ...] | None, tuple[Member, ...] | None, OutboundRules | None]:
    """A tenant's caller IDs, members and rules as a document carries them (None: none
    stored, so an exported document says nothing about them)."""
    caller_ids = await tenant_caller_ids(db, tenant_id)
    members = await tenant_members(db, tenant_id)
    return caller_ids or None, members or None, await tenant_outbound_rules(db, tenant_id)


__all__ = [
    "OutboundContext",
    "TenantMember",
    "add_member",
    "export_tenant_outbound",
    "find_member",
    "list_members",
    "outbound_context",
    "remove_member",
    "resolve_member",
    "sync_tenant_outbound",
    "tenant_caller_ids",
    "tenant_members",
    "tenant_outbound_rules",
]
