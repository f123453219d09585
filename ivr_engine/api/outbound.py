"""Calling out as the company from the API: click-to-call and call-backs from records.

- ``POST /api/v1/calls`` ``{member, to, caller_id?, tenant_id?}``: the engine rings the
  member, then the customer showing the registered caller ID; 202 with the call's id.
- ``POST /api/v1/calls/{call_id}/callback`` ``{member, caller_id?}``: the same, to the
  caller of an inbound call record (a missed call, typically).

The serving engine places the call (its ``EngineDialer``, reached through
``ApiContext.extras[DIALER]``); an API with no engine attached answers 503
``engine_not_attached``. A refused call (no minutes, an unverified caller ID, a blocked
destination ...) answers 409 ``call_refused`` with the planner's ``refusal`` code. Members
are looked up inside the principal's tenants only; every call placed is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from aiohttp import web

from ivr_engine.api.common import json_body, json_object, respond
from ivr_engine.api.context import ApiContext, actor_of
from ivr_engine.api.errors import ApiError, bad_input, not_found
from ivr_engine.api.registry import ApiRequest, ApiRoutes
from ivr_engine.domain.access import Principal, Reach
from ivr_engine.domain.numbers import mask, try_normalize
from ivr_engine.domain.outbound import Refusal
from ivr_engine.store import audit
from ivr_engine.store.queries import queries

routes = ApiRoutes()

DIALER = "outbound_dialer"  # the key of the engine's dialer in ApiContext.extras


class Dialer(Protocol):
    """What the API needs of the engine to call out (``calls.outbound_engine``)."""

    async def place(
        self, member: str, to: str, caller_id: str | None = None, *, tenant_id: str | None = None
    ) -> str | Refusal:
        """Plan, reserve and start a click-to-call; its id, or why it was refused."""
        ...


def tenant_of(req: ApiRequest, wanted: Any) -> str:
    """The tenant a write is for: the body's ``tenant_id`` inside the principal's reach
    (404 outside it), else the principal's own tenant."""
    if wanted is not None:
        if not isinstance(wanted, str) or not req.reach.sees_tenant(wanted):
            raise not_found(f"tenant {wanted}")
        return wanted
    if req.principal.tenant_id is None:
        raise bad_input("tenant_id is required for a platform admin", "tenant_id")
    return req.principal.tenant_id


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad_input(f"{key} is a phone number as text", key)
    return value


async def member_mobile(pool: asyncpg.Pool, tenant_id: str, who: str) -> str:
    """A member of the tenant by mobile or name (404 otherwise, whoever's it is)."""
    digits = try_normalize(who)
    row = await pool.fetchrow(
        "SELECT mobile FROM members WHERE tenant_id = $1 AND (mobile = $2 OR name = $3)",
        tenant_id,
        digits,
        who.strip(),
    )
    if row is None:
        raise not_found(f"member {mask(who)}")
    return str(row["mobile"])


async def inbound_caller(pool: asyncpg.Pool, reach: Reach, call_id: str) -> tuple[str, str]:
    """The tenant and the caller of an inbound record inside the reach (404 otherwise;
    409 ``caller_unknown`` for a withheld number)."""
    tenants = None if reach.tenants is None else list(reach.tenants)
    row = await pool.fetchrow(queries()["inbound_record_caller"], call_id, tenants)
    if row is None or row["tenant_id"] is None:
        raise not_found(f"inbound call {call_id}")
    if not row["caller"]:
        raise ApiError(409, "caller_unknown", "the caller withheld their number: no call-back")
    return str(row["tenant_id"]), str(row["caller"])


@dataclass(frozen=True)
class CallOrder:
    """What to call: the member (a mobile of the tenant), the destination, the caller ID
    asked for (None: the member's first verified one) and where the order came from."""

    tenant_id: str
    member: str
    to: str
    caller_id: str | None
    source: str


async def place_call(ctx: ApiContext, principal: Principal, address: str, order: CallOrder) -> str:
    """Have the serving engine place a call and audit it; the call's id. 503
    ``engine_not_attached`` with no engine, 409 ``call_refused`` with the planner's code.
    The API and the console both call out through here."""
    dialer: Dialer | None = ctx.extras.get(DIALER)
    if dialer is None:
        raise ApiError(
            503,
            "engine_not_attached",
            "no call engine serves this API: calls are placed by a running `ivr-engine serve`",
        )
    placed = await dialer.place(order.member, order.to, order.caller_id, tenant_id=order.tenant_id)
    if isinstance(placed, Refusal):
        raise ApiError(409, "call_refused", placed.message, refusal=placed.code.value)
    async with ctx.pool.acquire() as conn:
        await audit.append(
            conn,
            actor_of(principal, address),
            action="call.dial",
            resource="call",
            resource_id=placed,
            tenant_id=order.tenant_id,
            new={"member": mask(order.member), "to": mask(order.to), "caller_id": order.caller_id},
            detail={"source": order.source},
        )
    return placed


async def _place(req: ApiRequest, order: CallOrder) -> web.StreamResponse:
    placed = await place_call(req.ctx, req.principal, req.address, order)
    return respond(
        {"call_id": placed, "member": mask(order.member), "to": mask(order.to), "state": "ringing"},
        status=202,
    )


@routes.post(
    "/calls",
    "outbound.dial",
    "Click-to-call: ring a member, then the customer showing the company's number",
    tag="outbound",
    body="{member, to, caller_id?, tenant_id?}",
)
async def dial(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant_id = tenant_of(req, data.get("tenant_id"))
    member = await member_mobile(req.ctx.pool, tenant_id, _text(data, "member") or "")
    to = _text(data, "to") or ""
    caller_id = _text(data, "caller_id", required=False)
    return await _place(req, CallOrder(tenant_id, member, to, caller_id, "api"))


@routes.post(
    "/calls/{call_id}/callback",
    "outbound.dial",
    "Call back the caller of an inbound call record (click-to-call to that caller)",
    tag="outbound",
    body="{member, caller_id?}",
)
async def call_back(req: ApiRequest) -> web.StreamResponse:
    call_id = req.match("call_id")
    tenant_id, caller = await inbound_caller(req.ctx.pool, req.reach, call_id)
    data = json_object(await json_body(req))
    member = await member_mobile(req.ctx.pool, tenant_id, _text(data, "member") or "")
    caller_id = _text(data, "caller_id", required=False)
    return await _place(req, CallOrder(tenant_id, member, caller, caller_id, f"record {call_id}"))
