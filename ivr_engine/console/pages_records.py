"""Call records: the list with filters and export links, one call's story, and revealing
a caller's full number (for roles that may; every reveal is audited)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from urllib.parse import urlencode

from aiohttp import web

from ivr_engine.console import queries
from ivr_engine.console.pages_outbound import (
    CallResult,
    call_back_result,
    dial_choices,
    result_fragment,
)
from ivr_engine.console.record_trace import record_steps
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.access import shown_number
from ivr_engine.domain.numbers import format_number, try_normalize
from ivr_engine.domain.records import Disposition
from ivr_engine.domain.timeline import local_midnight
from ivr_engine.errors import NotFoundError
from ivr_engine.store import audit

pages = ConsoleRoutes()
EXPORT_PATH = "/api/v1/calls"  # the API's records search; ?format=csv|xlsx exports


def _day(raw: str, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def record_filter(page: ConsolePage) -> tuple[queries.RecordFilter, dict[str, str]]:
    """The page's filters (dates are whole local days, ``to`` included) and their values
    for the form."""
    today = page.ctx.clock().astimezone(page.zone).date()
    first = _day(page.query("from"), today - timedelta(days=6))
    last = _day(page.query("to"), today)
    number = try_normalize(page.query("number")) if page.query("number") else None
    caller = try_normalize(page.query("caller")) if page.query("caller") else None
    disposition = page.query("disposition")
    if disposition not in {d.value for d in Disposition}:
        disposition = ""
    flt = queries.RecordFilter(
        start=local_midnight(first, page.zone),
        end=local_midnight(last + timedelta(days=1), page.zone),
        number=number,
        caller=caller,
        disposition=disposition or None,
    )
    values = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "number": page.query("number"),
        "caller": page.query("caller"),
        "disposition": disposition,
    }
    return flt, values


def export_link(flt: queries.RecordFilter, fmt: str) -> str:
    """The API's export of the records the page shows: [from, to) as times with offset."""
    params = {"format": fmt}
    if flt.start is not None:
        params["from"] = flt.start.isoformat()
    if flt.end is not None:
        params["to"] = flt.end.isoformat()
    for key in ("number", "caller", "disposition"):
        value = getattr(flt, key)
        if value:
            params[key] = value
    return f"{EXPORT_PATH}?{urlencode(params)}"


@pages.get("/records", "calls.read")
async def records(page: ConsolePage) -> web.StreamResponse:
    """``GET /records``."""
    flt, values = record_filter(page)
    offset = max(0, int(page.query("offset") or 0)) if page.query("offset").isdigit() else 0
    async with page.ctx.pool.acquire() as conn:
        rows = await queries.list_records(conn, page.reach, flt, limit=51, offset=offset)
    more = len(rows) > 50
    return page.render(
        "records.html",
        rows=rows[:50],
        more=more,
        next_offset=offset + 50,
        values=values,
        dispositions=[d.value for d in Disposition],
        csv=export_link(flt, "csv") if page.may("calls.export") else "",
        xlsx=export_link(flt, "xlsx") if page.may("calls.export") else "",
        show=lambda n: shown_number(page.principal, n) if n else "",
        fmt=format_number,
        query=urlencode({k: v for k, v in values.items() if v}),
    )


async def _record(page: ConsolePage) -> dict[str, object]:
    call_id = page.request.match_info["call_id"]
    async with page.ctx.pool.acquire() as conn:
        row = await queries.get_record(conn, page.reach, call_id)
    if row is None:
        raise NotFoundError(f"call {call_id}: {page.t('error.not_found')}")
    return row


def missed_inbound(row: dict[str, object]) -> bool:
    """Whether a record is an inbound call nobody answered, from a caller who gave their
    number: the calls the page offers to call back."""
    return (
        row.get("direction", "inbound") == "inbound"
        and row["disposition"] not in (Disposition.ANSWERED.value, Disposition.BLOCKED.value)
        and bool(row["caller"])
    )


async def _render(
    page: ConsolePage,
    row: dict[str, object],
    reveal: bool,
    result: CallResult | None = None,
) -> web.Response:
    def show(n: str) -> str:
        return shown_number(page.principal, n, reveal=reveal) if n else ""

    choices = None
    if page.may("outbound.dial") and missed_inbound(row) and row["tenant_id"]:
        choices = await dial_choices(page, str(row["tenant_id"]))
    return page.render(
        "record.html",
        r=row,
        steps=record_steps(row, show),
        caller=show(str(row["caller"])),
        show=show,
        revealed=reveal,
        fmt=format_number,
        choices=choices,
        result=result,
        form=page.form,
    )


@pages.get("/records/{call_id}", "calls.read")
async def record(page: ConsolePage) -> web.StreamResponse:
    """``GET /records/{call_id}``: what happened in one call."""
    return await _render(page, await _record(page), reveal=False)


@pages.post("/records/{call_id}/callback", "outbound.dial")
async def call_back(page: ConsolePage) -> web.StreamResponse:
    """``POST /records/{call_id}/callback``: ring a member, then the record's caller."""
    row = await _record(page)
    result, _tenant = await call_back_result(page, str(row["call_id"]))
    if page.request.headers.get("HX-Request"):
        return result_fragment(page, result)
    return await _render(page, row, reveal=False, result=result)


@pages.post("/records/{call_id}/reveal", "calls.reveal")
async def reveal(page: ConsolePage) -> web.StreamResponse:
    """``POST /records/{call_id}/reveal``: the full numbers of the call, audited."""
    row = await _record(page)
    async with page.ctx.pool.acquire() as conn:
        await audit.append(
            conn,
            page.actor,
            action="number.reveal",
            resource="call",
            resource_id=str(row["call_id"]),
            tenant_id=str(row["tenant_id"]) if row["tenant_id"] else None,
            detail={"number": row["number"]},
        )
    if page.request.headers.get("HX-Request"):
        caller = shown_number(page.principal, str(row["caller"]), reveal=True)
        return web.Response(
            text=f'<span class="revealed">{escape(caller)}</span>', content_type="text/html"
        )
    return await _render(page, row, reveal=True)
