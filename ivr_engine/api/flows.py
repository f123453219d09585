"""IVR menus and queues as configured (read-only views; they are changed with the number's
or the tenant's settings), with the queues' live figures.

- ``GET /api/v1/menus``: every menu of the tenants you reach, where it is defined (tenant
  or number) and its items;
- ``GET /api/v1/queues``: every queue with its agents, and what is waiting now.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr_engine.api.common import page_body, respond
from ivr_engine.api.registry import ApiRequest, ApiRoutes
from ivr_engine.domain.config_doc import settings_to_data
from ivr_engine.domain.model import TenantConfig
from ivr_engine.domain.numbers import format_number
from ivr_engine.store import config_edit

routes = ApiRoutes()


async def _tenants(req: ApiRequest) -> list[TenantConfig]:
    async with req.ctx.pool.acquire() as conn:
        rows = await config_edit.tenant_versions(conn, req.reach.tenants)
        out = []
        for row in rows:
            tenant = await config_edit.export_tenant(conn, row["id"])
            if tenant is not None:
                out.append(tenant)
    return out


def _visible(req: ApiRequest, number: str, branches: dict[str, str | None]) -> bool:
    reach = req.reach
    if reach.number is not None and number != reach.number:
        return False
    return reach.branch is None or branches.get(number) == reach.branch


async def _branches(req: ApiRequest) -> dict[str, str | None]:
    async with req.ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT number, branch_id FROM virtual_numbers WHERE $1::text[] IS NULL OR "
            "tenant_id = ANY($1)",
            list(req.reach.tenants) if req.reach.tenants is not None else None,
        )
    return {r["number"]: r["branch_id"] for r in rows}


def _items(
    req: ApiRequest, tenants: list[TenantConfig], key: str, branches: dict[str, str | None]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tenant in tenants:
        layers: list[tuple[str | None, Any]] = [(None, tenant.defaults)]
        layers += [
            (e.number, e.settings) for e in tenant.numbers if _visible(req, e.number, branches)
        ]
        for number, settings in layers:
            data = settings_to_data(settings).get(key)
            if not data:
                continue
            entries = data.items() if isinstance(data, dict) else ((d.get("id"), d) for d in data)
            for item_id, body in entries:
                out.append(
                    {
                        "tenant_id": tenant.id,
                        "defined_at": "tenant" if number is None else format_number(number),
                        "id": item_id,
                        "definition": body,
                    }
                )
    return out


@routes.get("/menus", "numbers.read", "IVR menus as configured", tag="menus")
async def list_menus(req: ApiRequest) -> web.StreamResponse:
    tenants = await _tenants(req)
    return respond(page_body(_items(req, tenants, "menus", await _branches(req)), None))


@routes.get(
    "/queues", "numbers.read", "Queues as configured, with callers waiting now", tag="queues"
)
async def list_queues(req: ApiRequest) -> web.StreamResponse:
    tenants = await _tenants(req)
    items = _items(req, tenants, "queues", await _branches(req))
    async with req.ctx.pool.acquire() as conn:
        waiting = await conn.fetch(
            "SELECT tenant_id, queue_id, count(*) AS waiting, min(entered_at) AS oldest "
            "FROM queue_calls WHERE outcome IS NULL AND ($1::text[] IS NULL OR "
            "tenant_id = ANY($1)) GROUP BY tenant_id, queue_id",
            list(req.reach.tenants) if req.reach.tenants is not None else None,
        )
    live = {(r["tenant_id"], r["queue_id"]): r for r in waiting}
    now = req.ctx.clock()
    for item in items:
        row = live.get((item["tenant_id"], item["id"]))
        item["waiting"] = row["waiting"] if row else 0
        item["longest_wait_seconds"] = round((now - row["oldest"]).total_seconds(), 1) if row else 0
    return respond(page_body(items, None))
