"""``/api/v1/numbers``: the virtual numbers, their settings, what a caller hears, and the
history of their changes.

A number's ``config`` is its entry as the configuration file writes it (``targets``,
``schedule``, ``holidays``, ``prompts``, ``block_list``, ``status``, ...). Writes take the
whole entry (``PUT``) or some of its keys (``PATCH``; ``null`` removes a key), need
``If-Match`` with the ETag read, run the checks of ``ivr-engine check`` and the loader's
rules, and with ``?dry_run=true`` only say what they would do.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr_engine.api.common import (
    Page,
    encode_cursor,
    flag,
    json_body,
    json_object,
    page_body,
    require_version,
    respond,
)
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import bad_input, forbidden, not_found
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.domain.access import allows
from ivr_engine.domain.config_doc import entry_from_data, entry_to_data, resolve
from ivr_engine.domain.numbers import format_number, try_normalize
from ivr_engine.domain.planner import plan_call
from ivr_engine.domain.timeline import week_timeline
from ivr_engine.store import audit, config_edit
from ivr_engine.store.config_edit import Change, NumberDetail
from ivr_engine.store.loader import LoadReport

routes = ApiRoutes()
_DRY = Param("dry_run", "true: check and report what would change, keep nothing", "boolean")
_FORCE = Param("force_targets", "true: change forward targets inside the 24 h lock", "boolean")


def digits_of(raw: str) -> str:
    """A number from a path (dashes allowed) as national digits; 404 when unreadable."""
    digits = try_normalize(raw)
    if digits is None:
        raise not_found(f"number {raw}")
    return digits


async def load_number(req: ApiRequest, raw: str) -> NumberDetail:
    """The number inside the principal's reach, else 404 (another tenant's too)."""
    digits = digits_of(raw)
    async with req.ctx.pool.acquire() as conn:
        detail = await config_edit.get_number(conn, req.reach, digits)
    if detail is None:
        raise not_found(f"number {format_number(digits)}")
    return detail


def report_body(report: LoadReport) -> dict[str, Any]:
    """A load report as JSON."""
    return {
        "dry_run": report.dry_run,
        "changed": report.changed,
        "numbers_created": [format_number(n) for n in report.numbers_created],
        "numbers_updated": [format_number(n) for n in report.numbers_updated],
        "numbers_unchanged": [format_number(n) for n in report.numbers_unchanged],
        "tenants_updated": report.tenants_updated,
        "target_changes": [
            {"number": format_number(n), "kind": str(c.kind), "forced": c.forced}
            for n, c in report.target_changes
        ],
        "warnings": [
            {"severity": w.severity, "path": w.path, "message": w.message} for w in report.warnings
        ],
        "summary": report.lines(),
    }


@routes.get(
    "/numbers",
    "numbers.read",
    "The numbers you may see",
    tag="numbers",
    params=(
        Param("tenant", "only this tenant"),
        Param("status", "active | paused | terminated", enum=("active", "paused", "terminated")),
        Param("q", "part of the number or its label"),
        Param("limit", "page size, 1-500 (50)", "integer"),
        Param("cursor", "next_cursor of the previous page"),
    ),
)
async def list_numbers(req: ApiRequest) -> web.StreamResponse:
    page = Page.of(req)
    after = page.cursor.get("after") if page.cursor else None
    search = req.query("q")
    if search:
        search = try_normalize(search) or search
    async with req.ctx.pool.acquire() as conn:
        rows = await config_edit.list_numbers(
            conn,
            req.reach,
            after=after,
            limit=page.limit + 1,
            tenant_id=req.query("tenant"),
            status=req.query("status"),
            search=search,
        )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    items = [dict(r.public(), formatted=format_number(r.number)) for r in rows]
    cursor = encode_cursor({"after": rows[-1].number}) if more and rows else None
    return respond(page_body(items, cursor))


@routes.get(
    "/numbers/{number}", "numbers.read", "One number and its settings", tag="numbers", etag=True
)
async def get_number(req: ApiRequest) -> web.StreamResponse:
    detail = await load_number(req, req.match("number"))
    return respond(detail.public(), version=detail.row.version)


async def _write(
    req: ApiRequest,
    tenant_id: str,
    config: dict[str, Any],
    expected: int | None,
    old: NumberDetail | None,
    branch: Any = dataclasses.MISSING,
) -> web.StreamResponse:
    entry = entry_from_data(config, "config")
    if old is not None and entry.number != old.row.number:
        raise bad_input("the number itself cannot be changed; create a new one", "config.number")
    dry_run = flag(req, "dry_run")
    force = flag(req, "force_targets")
    if force and not allows(req.principal, "numbers.create"):
        raise forbidden("only a tenant owner may force a forward-target change")
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        change: Change = await config_edit.change_number(
            conn,
            tenant_id,
            entry,
            expected_version=expected,
            dry_run=dry_run,
            force_targets=force,
            origin=f"api:{req.principal.email}",
        )
        version = change.version
        if not dry_run and branch is not dataclasses.MISSING:
            version = await conn.fetchval(
                "UPDATE virtual_numbers SET branch_id = $2, "
                "version = nextval('config_version_seq') WHERE number = $1 RETURNING version",
                entry.number,
                branch,
            )
        if not dry_run and (change.report.changed or branch is not dataclasses.MISSING):
            await audit.append(
                conn,
                actor_of(req.principal, req.address),
                action="number.create" if old is None else "number.update",
                resource="number",
                resource_id=entry.number,
                tenant_id=tenant_id,
                old=None if old is None else dict(old.public(), version=old.row.version),
                new={
                    "config": entry_to_data(entry),
                    "branch_id": None if branch is dataclasses.MISSING else branch,
                    "version": version,
                },
                detail={
                    "warnings": [str(w) for w in change.report.warnings],
                    "summary": change.report.lines(),
                },
            )
        tenant = await config_edit.export_tenant(conn, tenant_id)
    body = report_body(change.report)
    body["version"] = version
    if tenant is not None:
        config_after = resolve(tenant, entry)
        start = req.ctx.clock().astimezone(ZoneInfo(tenant.timezone)).date()
        body["timeline"] = [p.to_json() for p in week_timeline(config_after, start)]
    status = 200 if dry_run or old is not None else 201
    return respond(body, status=status, version=None if dry_run else version)


@routes.post(
    "/numbers",
    "numbers.create",
    "Create a number",
    tag="numbers",
    params=(_DRY,),
    body="{tenant_id, branch_id?, config: {number, label, targets, ...}}",
)
async def create_number(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant_id = data.get("tenant_id") or req.principal.tenant_id
    if not isinstance(tenant_id, str) or not req.reach.sees_tenant(tenant_id):
        raise not_found(f"tenant {tenant_id}")
    config = json_object(data.get("config"), "config")
    branch = data.get("branch_id", dataclasses.MISSING)
    return await _write(req, tenant_id, config, None, None, branch)


@routes.put(
    "/numbers/{number}",
    "numbers.write",
    "Replace a number's settings",
    tag="numbers",
    params=(_DRY, _FORCE),
    body="{config: {...}, branch_id?}",
    etag=True,
)
async def put_number(req: ApiRequest) -> web.StreamResponse:
    old = await load_number(req, req.match("number"))
    require_version(req, old.row.version)
    data = json_object(await json_body(req))
    config = json_object(data.get("config"), "config")
    config.setdefault("number", old.row.number)
    branch = _branch_change(req, data)
    return await _write(req, old.row.tenant_id, config, old.row.version, old, branch)


@routes.patch(
    "/numbers/{number}",
    "numbers.write",
    "Change some of a number's settings",
    tag="numbers",
    params=(_DRY, _FORCE),
    body="{config: {key: value | null}, branch_id?}",
    etag=True,
)
async def patch_number(req: ApiRequest) -> web.StreamResponse:
    old = await load_number(req, req.match("number"))
    require_version(req, old.row.version)
    data = json_object(await json_body(req))
    changes = json_object(data.get("config", {}), "config")
    config = entry_to_data(old.entry)
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    config["number"] = old.row.number
    branch = _branch_change(req, data)
    return await _write(req, old.row.tenant_id, config, old.row.version, old, branch)


def _branch_change(req: ApiRequest, data: dict[str, Any]) -> Any:
    if "branch_id" not in data:
        return dataclasses.MISSING
    if req.principal.branch_id is not None:
        raise forbidden("a branch manager cannot move a number to another branch")
    value = data["branch_id"]
    if value is not None and not isinstance(value, str):
        raise bad_input("branch_id is a branch id or null", "branch_id")
    return value


@routes.get(
    "/numbers/{number}/timeline",
    "numbers.read",
    "A week of the number: what a caller hears when",
    tag="numbers",
    params=(Param("from", "first day (today)"),),
)
async def number_timeline(req: ApiRequest) -> web.StreamResponse:
    detail = await load_number(req, req.match("number"))
    config = await _resolved(req, detail)
    tz = ZoneInfo(detail.timezone)
    raw = req.query("from")
    try:
        start = date.fromisoformat(raw) if raw else req.ctx.clock().astimezone(tz).date()
    except ValueError:
        raise bad_input(f"{raw!r} is not a date such as 2026-12-07", "from") from None
    periods = week_timeline(config, start)
    return respond(
        {
            "number": format_number(detail.row.number),
            "timezone": detail.timezone,
            "from": start,
            "periods": [p.to_json() for p in periods],
        }
    )


@routes.get(
    "/numbers/{number}/plan",
    "numbers.read",
    "What a call at a given time does",
    tag="numbers",
    params=(
        Param("at", "ISO time (now); no offset: the tenant's zone"),
        Param("caller", "the caller's number (an ordinary mobile)"),
    ),
)
async def number_plan(req: ApiRequest) -> web.StreamResponse:
    detail = await load_number(req, req.match("number"))
    config = await _resolved(req, detail)
    tz = ZoneInfo(detail.timezone)
    raw = req.query("at")
    try:
        when = datetime.fromisoformat(raw) if raw else req.ctx.clock()
    except ValueError:
        raise bad_input(f"{raw!r} is not an ISO time such as 2026-12-07T12:30", "at") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    plan = plan_call(config, req.query("caller", "01000000000"), detail.row.number, when)
    return respond(dict(plan.to_json(), at=when.astimezone(tz).isoformat()))


async def _resolved(req: ApiRequest, detail: NumberDetail) -> Any:
    async with req.ctx.pool.acquire() as conn:
        tenant = await config_edit.export_tenant(conn, detail.row.tenant_id)
    if tenant is None:
        raise not_found("tenant")
    return resolve(tenant, detail.entry, version=detail.row.version)


@routes.get(
    "/numbers/{number}/history",
    "numbers.read",
    "Target changes and audited changes of the number",
    tag="numbers",
)
async def number_history(req: ApiRequest) -> web.StreamResponse:
    detail = await load_number(req, req.match("number"))
    async with req.ctx.pool.acquire() as conn:
        changes = await conn.fetch(
            "SELECT * FROM target_changes WHERE number = $1 ORDER BY changed_at DESC LIMIT 100",
            detail.row.number,
        )
        entries = await audit.list_entries(
            conn, req.reach.tenants, resource="number", resource_id=detail.row.number, limit=100
        )
    return respond(
        {
            "target_changes": [_target_change(dict(r)) for r in changes],
            "audit": [e.public() for e in entries],
        }
    )


def _target_change(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out
