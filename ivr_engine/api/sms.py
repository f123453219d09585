"""Callback texts: the outbox, approving held texts, opt-outs, and the resolved policy.

- ``GET /api/v1/sms/outbox?state=&number=``: texts newest first (recipients masked unless
  revealed); ``POST /api/v1/sms/outbox/approve|discard`` ``{"ids": [...]}``.
- ``GET /api/v1/sms/policy?number=|tenant=``: the policy in force (a number's own layer
  and the merged one). The policy is changed like every setting: ``callback_sms`` in
  ``PATCH /api/v1/numbers/{number}`` or in a tenant's ``defaults``.
- ``GET|POST /api/v1/sms/optouts``, ``DELETE /api/v1/sms/optouts/{recipient}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr_engine.api.common import json_body, json_object, page_body, respond
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import bad_input, not_found
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.api.reveal import audited_reveal
from ivr_engine.domain.access import shown_number
from ivr_engine.domain.numbers import format_number, try_normalize
from ivr_engine.domain.sms_policy import policy_to_data
from ivr_engine.sms import admin as sms_admin
from ivr_engine.store import audit, config_edit

routes = ApiRoutes()

_OUTBOX = (
    "SELECT o.id, o.tenant_id, o.number, o.recipient, o.trigger, o.state, o.reason, o.kind, "
    "o.subject, o.body, o.send_after, o.attempts, o.delivery_status, o.last_error, "
    "o.created_at, o.updated_at FROM sms_outbox o JOIN virtual_numbers vn ON vn.number = o.number "
    f"WHERE {config_edit._REACH} "
)


def _tenant_of(req: ApiRequest, data: dict[str, Any] | None = None) -> str:
    tenant = (data or {}).get("tenant_id") or req.query("tenant") or req.principal.tenant_id
    if not isinstance(tenant, str) or not req.reach.sees_tenant(tenant):
        raise not_found(f"tenant {tenant}")
    return tenant


@routes.get(
    "/sms/outbox",
    "sms.read",
    "Callback texts, newest first",
    tag="sms",
    params=(
        Param("state", "held | queued | sent | failed | suppressed | discarded"),
        Param("number", "one virtual number"),
        Param("limit", "", "integer"),
        Param("reveal", "true: full recipient numbers (audited)", "boolean"),
    ),
)
async def list_outbox(req: ApiRequest) -> web.StreamResponse:
    number = req.query("number")
    digits = try_normalize(number) if number else None
    limit = min(int(req.query("limit", "100") or 100), 500)
    async with req.ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            _OUTBOX + "AND ($4::text IS NULL OR o.state = $4) AND ($5::text IS NULL OR "
            "o.number = $5) ORDER BY o.id DESC LIMIT $6",
            *config_edit.reach_args(req.reach),
            req.query("state"),
            digits,
            limit,
        )
    reveal = await audited_reveal(req, "sms", [str(r["id"]) for r in rows])
    items = []
    for r in rows:
        item = dict(r)
        item["number"] = format_number(r["number"])
        item["recipient"] = shown_number(req.principal, r["recipient"], reveal=reveal)
        items.append(item)
    return respond(page_body(items, None))


async def _own_ids(req: ApiRequest, data: dict[str, Any]) -> list[int]:
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise bad_input("ids is a list of text ids", "ids")
    async with req.ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            _OUTBOX + "AND o.id = ANY($4::bigint[])", *config_edit.reach_args(req.reach), ids
        )
    found = {r["id"] for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise not_found(f"text(s) {', '.join(map(str, missing))}")
    return ids


async def _act(req: ApiRequest, action: str) -> web.StreamResponse:
    data = json_object(await json_body(req))
    ids = await _own_ids(req, data)
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        if action == "approve":
            done = await sms_admin.approve(conn, ids, clock=req.ctx.clock)
        else:
            reason = data.get("reason") or "discarded"
            done = await sms_admin.discard(conn, ids, reason=str(reason)[:100])
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action=f"sms.{action}",
            resource="sms",
            tenant_id=req.principal.tenant_id,
            detail={"asked": ids, "done": done},
        )
    return respond({action + "d": done, "unchanged": [i for i in ids if i not in done]})


@routes.post(
    "/sms/outbox/approve", "sms.write", "Release held texts", tag="sms", body="{ids: [..]}"
)
async def approve_texts(req: ApiRequest) -> web.StreamResponse:
    return await _act(req, "approve")


@routes.post(
    "/sms/outbox/discard",
    "sms.write",
    "Discard held or queued texts",
    tag="sms",
    body="{ids: [..], reason?}",
)
async def discard_texts(req: ApiRequest) -> web.StreamResponse:
    return await _act(req, "discard")


@routes.get(
    "/sms/policy",
    "sms.read",
    "The callback-text policy in force",
    tag="sms",
    params=(Param("number", "a virtual number"), Param("tenant", "a tenant")),
)
async def get_policy(req: ApiRequest) -> web.StreamResponse:
    number = req.query("number")
    async with req.ctx.pool.acquire() as conn:
        if number:
            digits = try_normalize(number)
            detail = await config_edit.get_number(conn, req.reach, digits) if digits else None
            if detail is None:
                raise not_found(f"number {number}")
            own, resolved = await sms_admin.show_policy(conn, number=detail.row.number)
        else:
            tenant = _tenant_of(req)
            own, resolved = await sms_admin.show_policy(conn, tenant=tenant)
    return respond(
        {
            "own": policy_to_data(own) if own else None,
            "resolved": policy_to_data(resolved) if resolved else None,
        }
    )


@routes.get(
    "/sms/optouts",
    "sms.read",
    "The tenant's opt-out list",
    tag="sms",
    params=(Param("tenant", "platform admins: which tenant"),),
)
async def list_optouts(req: ApiRequest) -> web.StreamResponse:
    tenant = _tenant_of(req)
    async with req.ctx.pool.acquire() as conn:
        rows = await sms_admin.list_optouts(conn, tenant)
    items = []
    for r in rows:
        item = dict(r)
        for key in ("number", "recipient"):
            if key in item and isinstance(item[key], str):
                item[key] = shown_number(req.principal, item[key])
        items.append(item)
    return respond(page_body(items, None))


@routes.post(
    "/sms/optouts",
    "sms.write",
    "Add recipients to the opt-out list",
    tag="sms",
    body="{numbers: [..], tenant?}",
)
async def add_optouts(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant = _tenant_of(req, data)
    numbers = data.get("numbers")
    if not isinstance(numbers, list) or not numbers:
        raise bad_input("numbers is a list of phone numbers", "numbers")
    digits = []
    for i, n in enumerate(numbers):
        d = try_normalize(str(n))
        if d is None:
            raise bad_input(f"{n!r} is not a phone number", f"numbers[{i}]")
        digits.append(d)
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        added = await sms_admin.add_optouts(conn, tenant, digits, source="api")
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="sms.optout.add",
            resource="sms_optout",
            tenant_id=tenant,
            detail={"count": len(digits), "added": added},
        )
    return respond({"added": added}, status=201)


@routes.delete(
    "/sms/optouts/{recipient}",
    "sms.write",
    "Take a recipient off the opt-out list",
    tag="sms",
    params=(Param("tenant", "platform admins: which tenant"),),
)
async def remove_optout(req: ApiRequest) -> web.StreamResponse:
    tenant = _tenant_of(req)
    digits = try_normalize(req.match("recipient"))
    if digits is None:
        raise not_found("opt-out")
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        removed = await sms_admin.remove_optout(conn, tenant, digits)
        if not removed:
            raise not_found("opt-out")
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="sms.optout.remove",
            resource="sms_optout",
            tenant_id=tenant,
            resource_id=shown_number(req.principal, digits),
        )
    return web.Response(status=204)
