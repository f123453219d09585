"""Agents and their states, and callback requests.

- ``GET /api/v1/agents``, ``GET /api/v1/agents/{agent}``: agents with live state, reason,
  since when, reachability and queues; an agent account sees itself only.
- ``POST /api/v1/agents/{agent}/state`` ``{"state": "login|logout|ready|rest|wrapup",
  "reason": ...}``: managers for their tenant's agents, an agent for itself.
- ``GET /api/v1/callbacks``; ``POST /api/v1/callbacks/{callback}/assign`` ``{"agent"}``,
  ``POST /api/v1/callbacks/{callback}/complete`` ``{"note", "cancelled"}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr_engine.api.common import json_body, json_object, page_body, respond
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import bad_input, forbidden, not_found
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.api.reveal import audited_reveal
from ivr_engine.domain.access import AGENT, allows, shown_number
from ivr_engine.domain.acd import AgentState
from ivr_engine.domain.callbacks import PENDING, CallbackStatus
from ivr_engine.domain.numbers import format_number
from ivr_engine.errors import NotFoundError
from ivr_engine.store import agents as agent_store
from ivr_engine.store import audit
from ivr_engine.store import callbacks as callback_store

routes = ApiRoutes()

_AGENT_COLUMNS = (
    "a.id, a.tenant_id, a.name, a.endpoint, a.login_state, a.state, a.reason, a.state_since, "
    "a.reachable, a.device_state, a.missed_in_row, a.wrapup_until, "
    "coalesce((SELECT array_agg(m.queue_id ORDER BY m.queue_id) FROM queue_members m "
    "WHERE m.agent_id = a.id), '{}') AS queues"
)


def _agent_filter(req: ApiRequest) -> tuple[Any, Any]:
    reach = req.reach
    return (list(reach.tenants) if reach.tenants is not None else None), reach.agent


async def _agents(req: ApiRequest, agent_id: str | None = None) -> list[dict[str, Any]]:
    tenants, own = _agent_filter(req)
    async with req.ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {_AGENT_COLUMNS} FROM agents a WHERE ($1::text[] IS NULL OR "
            "a.tenant_id = ANY($1)) AND ($2::text IS NULL OR a.id = $2) "
            "AND ($3::text IS NULL OR a.id = $3) ORDER BY a.tenant_id, a.id",
            tenants,
            own,
            agent_id,
        )
    return [dict(r) for r in rows]


@routes.get("/agents", "agents.read", "Agents and their live states", tag="agents")
async def list_agents(req: ApiRequest) -> web.StreamResponse:
    return respond(page_body(await _agents(req), None))


@routes.get("/agents/{agent}", "agents.read", "One agent", tag="agents")
async def get_agent(req: ApiRequest) -> web.StreamResponse:
    found = await _agents(req, req.match("agent"))
    if not found:
        raise not_found(f"agent {req.match('agent')}")
    return respond(found[0])


@routes.post(
    "/agents/{agent}/state",
    "agents.state",
    "Log in, log out, ready, rest or after-call work",
    tag="agents",
    body="{state, reason?}",
)
async def set_agent_state(req: ApiRequest) -> web.StreamResponse:
    agent_id = req.match("agent")
    found = await _agents(req, agent_id)
    if not found:
        raise not_found(f"agent {agent_id}")
    if req.principal.role != AGENT and not allows(req.principal, "agents.write"):
        raise forbidden("only managers and the agent itself change an agent's state")
    data = json_object(await json_body(req))
    wanted = data.get("state")
    reason = data.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 100:
        raise bad_input("reason is a text of at most 100 characters", "reason")
    now = req.ctx.clock()
    pool = req.ctx.pool
    if wanted == "login":
        await agent_store.login(pool, agent_id, now=now)
    elif wanted == "logout":
        await agent_store.logout(pool, agent_id, now=now)
    elif wanted in ("ready", "rest", "wrapup"):
        await agent_store.set_state(pool, agent_id, AgentState(wanted), now=now, reason=reason)
    else:
        raise bad_input("state is login, logout, ready, rest or wrapup", "state")
    after = (await _agents(req, agent_id))[0]
    async with pool.acquire() as conn:
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="agent.state",
            resource="agent",
            resource_id=agent_id,
            tenant_id=after["tenant_id"],
            old={"state": found[0]["state"], "reason": found[0]["reason"]},
            new={"state": after["state"], "reason": after["reason"]},
        )
    return respond(after)


def _callback_body(req: ApiRequest, cb: Any, reveal: bool) -> dict[str, Any]:
    return {
        "id": cb.id,
        "tenant_id": cb.tenant_id,
        "number": format_number(cb.number),
        "caller": shown_number(req.principal, cb.caller, reveal=reveal),
        "source": cb.source,
        "queue": cb.queue,
        "status": cb.status.value,
        "agent": cb.agent,
        "repeats": cb.repeats,
        "attempts": cb.attempts,
        "last_result": cb.last_result,
        "note": cb.note,
        "requested_at": cb.requested_at,
        "assigned_at": cb.assigned_at,
        "completed_at": cb.completed_at,
    }


def _reaches(req: ApiRequest, cb: Any, branch_numbers: set[str] | None) -> bool:
    reach = req.reach
    if not reach.sees_tenant(cb.tenant_id):
        return False
    if reach.number is not None and cb.number != reach.number:
        return False
    if branch_numbers is not None and cb.number not in branch_numbers:
        return False
    return not (reach.agent is not None and cb.agent != reach.agent)


async def _branch_numbers(req: ApiRequest) -> set[str] | None:
    if req.reach.branch is None:
        return None
    async with req.ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT number FROM virtual_numbers WHERE tenant_id = $1 AND branch_id = $2",
            req.principal.tenant_id,
            req.reach.branch,
        )
    return {r["number"] for r in rows}


@routes.get(
    "/callbacks",
    "callbacks.read",
    "Callback requests",
    tag="callbacks",
    params=(
        Param(
            "status",
            "pending (open + assigned; default), open, assigned, completed, cancelled, all",
        ),
        Param("reveal", "true: callers' full numbers (audited)", "boolean"),
    ),
)
async def list_callbacks(req: ApiRequest) -> web.StreamResponse:
    raw = req.query("status", "pending") or "pending"
    statuses: list[CallbackStatus] = []
    for part in raw.split(","):
        statuses += _statuses(part.strip())
    tenant = req.principal.tenant_id
    async with req.ctx.pool.acquire() as conn:
        found = await callback_store.list_callbacks(
            conn, tenant_id=tenant, statuses=statuses, limit=500
        )
    branch = await _branch_numbers(req)
    items = [cb for cb in found if _reaches(req, cb, branch)]
    reveal = await audited_reveal(req, "callback", [str(cb.id) for cb in items])
    return respond(page_body([_callback_body(req, cb, reveal) for cb in items], None))


def _statuses(text: str) -> list[CallbackStatus]:
    if text == "all":
        return list(CallbackStatus)
    if text == "pending":
        return list(PENDING)
    try:
        return [CallbackStatus(text)]
    except ValueError:
        names = ", ".join(s.value for s in CallbackStatus)
        raise bad_input(f"status is pending, all or one of {names}", "status") from None


async def _callback(req: ApiRequest) -> Any:
    try:
        request_id = int(req.match("callback"))
    except ValueError:
        raise not_found("callback request") from None
    async with req.ctx.pool.acquire() as conn:
        try:
            cb = await callback_store.get_callback(conn, request_id)
        except NotFoundError:
            raise not_found("callback request") from None
    if not _reaches(req, cb, await _branch_numbers(req)):
        raise not_found("callback request")
    return cb


@routes.post(
    "/callbacks/{callback}/assign",
    "callbacks.write",
    "Give a callback request to an agent",
    tag="callbacks",
    body="{agent}",
)
async def assign_callback(req: ApiRequest) -> web.StreamResponse:
    cb = await _callback(req)
    data = json_object(await json_body(req))
    agent = data.get("agent")
    if not isinstance(agent, str):
        raise bad_input("agent is required", "agent")
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        after = await callback_store.assign_callback(conn, cb.id, agent, req.ctx.clock())
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="callback.assign",
            resource="callback",
            resource_id=str(cb.id),
            tenant_id=cb.tenant_id,
            old={"agent": cb.agent, "status": cb.status.value},
            new={"agent": after.agent, "status": after.status.value},
        )
    return respond(_callback_body(req, after, False))


@routes.post(
    "/callbacks/{callback}/complete",
    "callbacks.write",
    "Close a callback request",
    tag="callbacks",
    body="{note?, cancelled?}",
)
async def complete_callback(req: ApiRequest) -> web.StreamResponse:
    cb = await _callback(req)
    data = json_object(await json_body(req))
    note = data.get("note", "")
    if not isinstance(note, str):
        raise bad_input("note is a text", "note")
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        after = await callback_store.complete_callback(
            conn, cb.id, note=note, cancelled=bool(data.get("cancelled")), at=req.ctx.clock()
        )
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="callback.complete",
            resource="callback",
            resource_id=str(cb.id),
            tenant_id=cb.tenant_id,
            old={"status": cb.status.value},
            new={"status": after.status.value, "note": note},
        )
    return respond(_callback_body(req, after, False))
