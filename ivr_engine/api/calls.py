"""``/api/v1/calls``: call records inside the principal's reach, newest first, and one
call with what happened in it.

- Filters: ``from`` / ``to`` (ISO; the tenant's zone without an offset), ``number``,
  ``caller``, ``disposition`` (several, comma-separated), ``tenant``; pages of 50 by
  default, ``next_cursor`` for the next one (stable while new calls arrive).
- Callers' and forward targets' numbers are masked; ``?reveal=true`` shows them in full to a
  role with ``calls.reveal`` (a token needs the ``reveal`` scope) and writes an audit row
  (``calls.reveal``: which calls, which filters) before the answer is sent.
- ``?format=csv`` / ``?format=xlsx``: every matching record as a file (``calls.export``),
  audited as ``calls.export`` (and ``calls.reveal`` when revealed).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr_engine.api.call_exports import send_xlsx, stream_csv
from ivr_engine.api.call_filters import (
    SEARCH_PARAMS,
    Shown,
    call_item,
    cursor_key,
    local,
    request_zone,
    search_of,
    zone_of,
)
from ivr_engine.api.common import Page, encode_cursor, flag, page_body, respond
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import bad_input, forbidden, not_found
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.domain.access import allows
from ivr_engine.domain.call_story import call_story
from ivr_engine.store import audit
from ivr_engine.store.executor import Executor
from ivr_engine.store.records_search import CallSearch, export_rows, get_call, queue_story
from ivr_engine.store.records_search import search_page as fetch_page

routes = ApiRoutes()
_REVEAL = Param("reveal", "true: full numbers (calls.reveal; audited)", "boolean")
FORMATS = ("json", "csv", "xlsx")


def _shown(req: ApiRequest) -> Shown:
    reveal = flag(req, "reveal")
    if reveal and not allows(req.principal, "calls.reveal"):
        raise forbidden(f"your role ({req.principal.role}) may not see full numbers")
    return Shown(req.principal, reveal)


async def _audit(
    req: ApiRequest,
    db: Executor,
    action: str,
    tenants: set[str | None],
    detail: dict[str, Any],
    resource_id: str = "",
) -> None:
    """One audit row per tenant whose records were shown (the principal's own tenant when
    none were)."""
    who = actor_of(req.principal, req.address)
    for tenant in sorted(tenants or {req.principal.tenant_id}, key=lambda t: t or ""):
        await audit.append(
            db,
            who,
            action=action,
            resource="call",
            resource_id=resource_id,
            tenant_id=tenant,
            detail=detail,
        )


@routes.get(
    "/calls",
    "calls.read",
    "Call records, newest first (CSV or Excel with ?format=)",
    tag="calls",
    params=(
        *SEARCH_PARAMS,
        _REVEAL,
        Param("format", "json (a page), csv or xlsx (every match)", enum=FORMATS),
        Param("limit", "page size, 1-500 (50)", "integer"),
        Param("cursor", "next_cursor of the previous page"),
    ),
    produces=("application/json", "text/csv", "application/vnd.ms-excel"),
)
async def list_calls(req: ApiRequest) -> web.StreamResponse:
    fmt = (req.query("format") or "json").lower()
    if fmt not in FORMATS:
        raise bad_input(f"format is one of {', '.join(FORMATS)}", "format")
    shown = _shown(req)
    zone = await request_zone(req)
    search = search_of(req, zone)
    if fmt != "json":
        return await _export(req, fmt, search, shown, zone)
    page = Page.of(req)
    async with req.ctx.pool.acquire() as conn:
        rows = await fetch_page(
            conn, req.reach, search, after=cursor_key(page.cursor), limit=page.limit + 1
        )
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        if shown.reveal:
            detail = {"call_ids": [r["call_id"] for r in rows], "filters": search.public()}
            await _audit(req, conn, "calls.reveal", {r["tenant_id"] for r in rows}, detail)
    items = [call_item(r, shown, zone) for r in rows]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = encode_cursor({"t": last["start_time"].isoformat(), "id": last["call_id"]})
    return respond(page_body(items, cursor))


async def _export(
    req: ApiRequest, fmt: str, search: CallSearch, shown: Shown, zone: ZoneInfo
) -> web.StreamResponse:
    if not allows(req.principal, "calls.export"):
        raise forbidden(f"your role ({req.principal.role}) may not export call records")
    tenants: set[str | None] = set()
    if search.tenant_id is not None:
        tenants = {search.tenant_id} if req.reach.sees_tenant(search.tenant_id) else set()
    detail = {"format": fmt, "filters": search.public(), "reveal": shown.reveal}
    async with req.ctx.pool.acquire() as conn:
        await _audit(req, conn, "calls.export", tenants, detail)
        if shown.reveal:
            await _audit(req, conn, "calls.reveal", tenants, detail)
        async with conn.transaction():
            rows = export_rows(conn, req.reach, search)
            send = stream_csv if fmt == "csv" else send_xlsx
            resp, _count = await send(req, rows, shown, zone)
    return resp


@routes.get(
    "/calls/{call_id}",
    "calls.read",
    "One call record and what happened in it",
    tag="calls",
    params=(_REVEAL,),
)
async def get_call_record(req: ApiRequest) -> web.StreamResponse:
    shown = _shown(req)
    call_id = req.match("call_id")
    async with req.ctx.pool.acquire() as conn:
        row = await get_call(conn, req.reach, call_id)
        if row is None:
            raise not_found(f"call {call_id}")
        stays, offers = await queue_story(conn, call_id, row["tenant_id"], req.reach.agent)
        if shown.reveal:
            detail = {"call_ids": [call_id]}
            await _audit(req, conn, "calls.reveal", {row["tenant_id"]}, detail, call_id)
    zone = zone_of(row, req.ctx.zone)
    body = call_item(row, shown, req.ctx.zone)

    def show(number: str) -> str:
        return shown.number(number) or ""

    body["timezone"] = str(zone)
    body["attempts"] = [dict(a, target=show(a["target"])) for a in (row["attempts"] or ())]
    body["prompts"] = list(row["prompts"] or ())
    body["plan_state"] = row["plan_state"]
    body["reasons"] = list(row["reasons"] or ())
    body["config_version"] = row["config_version"]
    body["node"] = row["node"]
    body["channel"] = row["channel"]
    body["dstchannel"] = row["dstchannel"] if shown.reveal else ""
    body["queue"] = [
        {k: local(v, zone) if k.endswith("_at") else v for k, v in dict(s).items()} for s in stays
    ]
    body["offers"] = [
        {
            "queue_id": o["queue_id"],
            "agent_id": o["agent_id"],
            "offered_at": local(o["offered_at"], zone),
            "result": o["result"],
            "ring_seconds": None if o["ring_seconds"] is None else float(o["ring_seconds"]),
        }
        for o in offers
    ]
    story = call_story(dict(row), stays, offers, show=show)
    body["trace"] = [
        {
            "at": local(s.at, zone),
            "offset_seconds": None
            if s.at is None
            else round((s.at - row["start_time"]).total_seconds(), 2),
            "kind": s.kind,
            "text": s.text,
        }
        for s in story
    ]
    return respond(body)
