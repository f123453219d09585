"""Members and minute allowances of a tenant, from the API.

- ``GET /api/v1/members``; ``POST /api/v1/members`` ``{name, mobile, role?, caller_ids?,
  tenant_id?}``; ``DELETE /api/v1/members/{member}`` (mobile or name; its ledger rows stay).
- ``GET /api/v1/minutes`` (``?tenant=``, ``?days=30``): the pool, every member's balance and
  their outbound statistics (calls, answered, talk and charged seconds);
  ``GET /api/v1/minutes/{member}``: a member's balance and ledger rows.
- ``POST /api/v1/minutes/charge`` ``{minutes, reason, coupon?, tenant_id?}`` (platform
  admins); ``POST /api/v1/minutes/allocate`` ``{member, minutes, reason?, tenant_id?}``.

Everything is read and written inside the principal's tenants only (another tenant's
member is a 404); every write is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from ivr_engine.api.common import json_body, json_object, respond
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import bad_input, not_found
from ivr_engine.api.outbound import tenant_of
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.domain.access import allows
from ivr_engine.domain.config_fields import Invalid
from ivr_engine.domain.members import Member, member_data, parse_member
from ivr_engine.domain.minutes import LedgerEntry
from ivr_engine.domain.numbers import format_number, mask
from ivr_engine.errors import NotFoundError
from ivr_engine.store import audit, minutes
from ivr_engine.store import members as store
from ivr_engine.store.outbound_desk import member_stats

routes = ApiRoutes()


def _query_tenant(req: ApiRequest) -> str:
    return tenant_of(req, req.query("tenant"))


def _mobile(req: ApiRequest, mobile: str) -> str:
    """Members' mobiles in full for those who manage them, masked for readers."""
    return format_number(mobile) if allows(req.principal, "members.write") else mask(mobile)


def _member_body(req: ApiRequest, tenant_id: str, m: Member) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "name": m.name,
        "mobile": _mobile(req, m.mobile),
        "role": m.role.value,
        "caller_ids": None if m.caller_ids is None else [format_number(n) for n in m.caller_ids],
    }


async def _member(req: ApiRequest, tenant_id: str, who: str) -> Member:
    try:
        return await store.resolve_member(req.ctx.pool, tenant_id, who)
    except NotFoundError:
        raise not_found(f"member {mask(who)}") from None


async def _audit(req: ApiRequest, tenant_id: str, action: str, rid: str, **kw: Any) -> None:
    async with req.ctx.pool.acquire() as conn:
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action=action,
            resource=action.split(".")[0],
            resource_id=rid,
            tenant_id=tenant_id,
            **kw,
        )


def _entry(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind.value,
        "seconds": e.seconds,
        "call_id": e.call_id,
        "reason": e.reason,
        "at": e.created_at,
    }


TENANT = Param("tenant", "the tenant (platform admins; others: their own)")


@routes.get("/members", "members.read", "A tenant's members", tag="outbound", params=(TENANT,))
async def list_members(req: ApiRequest) -> web.StreamResponse:
    tenant_id = _query_tenant(req)
    found = await store.tenant_members(req.ctx.pool, tenant_id)
    return respond({"items": [_member_body(req, tenant_id, m) for m in found]})


@routes.post(
    "/members",
    "members.write",
    "Add a member",
    tag="outbound",
    body="{name, mobile, role?, caller_ids?, tenant_id?}",
)
async def add_member(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant_id = tenant_of(req, data.pop("tenant_id", None))
    try:
        member = parse_member(data, "member")
    except Invalid as exc:
        raise bad_input(str(exc), exc.path) from None
    await store.add_member(req.ctx.pool, tenant_id, member)
    await _audit(req, tenant_id, "member.add", mask(member.mobile), new=member_data(member))
    return respond(_member_body(req, tenant_id, member), status=201)


@routes.delete("/members/{member}", "members.write", "Remove a member", tag="outbound")
async def remove_member(req: ApiRequest) -> web.StreamResponse:
    tenant_id = _query_tenant(req)
    member = await _member(req, tenant_id, req.match("member"))
    await store.remove_member(req.ctx.pool, tenant_id, member.mobile)
    await _audit(req, tenant_id, "member.remove", mask(member.mobile), old=member_data(member))
    return respond({"removed": _member_body(req, tenant_id, member)})


@routes.get(
    "/minutes",
    "minutes.read",
    "The pool, members' balances and their outbound statistics",
    tag="outbound",
    params=(TENANT, Param("days", "statistics over the last days (default 30)", "integer")),
)
async def show_minutes(req: ApiRequest) -> web.StreamResponse:
    tenant_id = _query_tenant(req)
    try:
        days = int(req.query("days") or 30)
    except ValueError:
        raise bad_input("days is a whole number", "days") from None
    pool = req.ctx.pool
    balances = await minutes.member_balances(pool, tenant_id)
    stats = await member_stats(pool, tenant_id, req.ctx.clock() - timedelta(days=days))
    members = [
        {
            "name": s.name,
            "mobile": _mobile(req, s.mobile),
            "balance_seconds": balances.get(s.mobile, 0),
            "calls": s.calls,
            "answered": s.answered,
            "talk_seconds": s.talk_seconds,
            "charged_seconds": s.charged_seconds,
        }
        for s in stats
    ]
    body = {"tenant_id": tenant_id, "pool_seconds": await minutes.balance(pool, tenant_id)}
    return respond({**body, "days": days, "members": members})


@routes.get("/minutes/{member}", "minutes.read", "A member's balance and ledger", tag="outbound")
async def member_minutes(req: ApiRequest) -> web.StreamResponse:
    tenant_id = _query_tenant(req)
    member = await _member(req, tenant_id, req.match("member"))
    pool = req.ctx.pool
    rows = await minutes.ledger(pool, tenant_id, member.mobile, 100)
    return respond(
        {
            **_member_body(req, tenant_id, member),
            "balance_seconds": await minutes.balance(pool, tenant_id, member.mobile),
            "ledger": [_entry(e) for e in rows],
        }
    )


def _minutes(data: dict[str, Any]) -> int:
    value = data.get("minutes")
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        raise bad_input("minutes is a whole number other than 0", "minutes")
    return value


@routes.post(
    "/minutes/charge",
    "minutes.charge",
    "Charge a tenant's pool (or add a coupon's minutes)",
    tag="outbound",
    body="{minutes, reason, coupon?, tenant_id?}",
)
async def charge(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant_id = tenant_of(req, data.get("tenant_id"))
    reason = data.get("reason")
    if not isinstance(reason, str):
        raise bad_input("reason is a text", "reason")
    entry = await minutes.charge(
        req.ctx.pool, tenant_id, _minutes(data) * 60, reason, coupon=bool(data.get("coupon"))
    )
    await _audit(req, tenant_id, "minutes.charge", str(entry.id), new=_entry(entry))
    left = await minutes.balance(req.ctx.pool, tenant_id)
    return respond({"entry": _entry(entry), "pool_seconds": left}, status=201)


@routes.post(
    "/minutes/allocate",
    "minutes.write",
    "Give a member minutes from the pool (negative: take them back)",
    tag="outbound",
    body="{member, minutes, reason?, tenant_id?}",
)
async def allocate(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant_id = tenant_of(req, data.get("tenant_id"))
    who = data.get("member")
    if not isinstance(who, str):
        raise bad_input("member is a mobile or a name", "member")
    member = await _member(req, tenant_id, who)
    seconds = _minutes(data) * 60
    done = await minutes.allocate(
        req.ctx.pool, tenant_id, member.mobile, seconds, str(data.get("reason") or "")
    )
    body = {"member": mask(member.mobile), "seconds": seconds}
    await _audit(req, tenant_id, "minutes.allocate", mask(member.mobile), new=body)
    return respond(
        {"pool_seconds": done.pool_seconds, "member_seconds": done.member_seconds}, status=201
    )
