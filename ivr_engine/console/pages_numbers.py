"""The numbers list and a number's page: settings form with a dry run, the week as a
chart, "what does a caller hear at ...", and the history of its changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr_engine.console.charts import week_chart
from ivr_engine.console.forms import MAX_TARGETS, PROMPT_FIELDS, STATUSES, form_fields
from ivr_engine.console.number_edit import Outcome, submit
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.access import shown_number
from ivr_engine.domain.config_doc import entry_to_data, resolve
from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.numbers import format_number, try_normalize
from ivr_engine.domain.planner import plan_call
from ivr_engine.domain.render import describe_hearing, describe_step
from ivr_engine.domain.timeline import TimelinePeriod, week_timeline
from ivr_engine.errors import NotFoundError
from ivr_engine.store import audit, config_edit
from ivr_engine.store.config_edit import NumberDetail

pages = ConsoleRoutes()
DAY_NAMES = {
    "ko": ("월", "화", "수", "목", "금", "토", "일"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


@pages.get("/numbers", "numbers.read")
async def numbers(page: ConsolePage) -> web.StreamResponse:
    """``GET /numbers``: the numbers in reach, searchable."""
    q = page.query("q")
    status = page.query("status") or None
    search = (try_normalize(q) or q) if q else None
    async with page.ctx.pool.acquire() as conn:
        rows = await config_edit.list_numbers(
            conn,
            page.reach,
            limit=500,
            status=status if status in STATUSES else None,
            search=search,
        )
    return page.render("numbers.html", rows=rows, q=q, status=status or "", fmt=format_number)


async def load(page: ConsolePage) -> NumberDetail:
    """The number of the path inside the user's reach, else not found."""
    raw = page.request.match_info["number"]
    digits = try_normalize(raw)
    detail = None
    if digits is not None:
        async with page.ctx.pool.acquire() as conn:
            detail = await config_edit.get_number(conn, page.reach, digits)
    if detail is None:
        raise NotFoundError(f"{page.t('num.number')} {raw}: {page.t('error.not_found')}")
    return detail


async def resolved(page: ConsolePage, detail: NumberDetail) -> NumberConfig:
    """The number's configuration as calls see it (tenant defaults applied)."""
    async with page.ctx.pool.acquire() as conn:
        tenant = await config_edit.export_tenant(conn, detail.row.tenant_id)
    if tenant is None:
        raise NotFoundError("tenant")
    return resolve(tenant, detail.entry, version=detail.row.version)


def chart(page: ConsolePage, periods: list[TimelinePeriod], start: date, zone: ZoneInfo) -> str:
    """The week as an SVG chart in the page's language."""
    return week_chart(
        periods, start, zone=zone, day_names=DAY_NAMES[page.lang], title=page.t("num.week")
    )


async def _history(page: ConsolePage, number: str) -> dict[str, Any]:
    async with page.ctx.pool.acquire() as conn:
        changes = await conn.fetch(
            "SELECT * FROM target_changes WHERE number = $1 ORDER BY changed_at DESC LIMIT 50",
            number,
        )
        entries = await audit.list_entries(
            conn, page.reach.tenants, resource="number", resource_id=number, limit=20
        )
    mask = not page.may("numbers.write")

    def show(targets: Any) -> str:
        items = targets if isinstance(targets, list) else []
        return ", ".join(
            (
                shown_number(page.principal, str(t.get("number", t)))
                if mask
                else format_number(str(t.get("number", t)))
            )
            if isinstance(t, dict)
            else str(t)
            for t in items
        )

    return {
        "changes": [
            dict(r, old=show(r["old_targets"]), new=show(r["new_targets"])) for r in changes
        ],
        "entries": entries if page.may("audit.read") else [],
    }


async def render_number(
    page: ConsolePage, detail: NumberDetail, outcome: Outcome | None = None, status: int = 200
) -> web.Response:
    """The number's page, with a submitted form's outcome when there is one."""
    config = await resolved(page, detail)
    zone = ZoneInfo(detail.timezone)
    start = page.ctx.clock().astimezone(zone).date()
    data = outcome.data if outcome is not None else entry_to_data(detail.entry)
    fields = form_fields(data)
    if not page.may("numbers.write"):
        fields["targets"] = [
            (shown_number(page.principal, n) if n else "", r) for n, r in fields["targets"]
        ]
    now_chart = chart(page, week_timeline(config, start), start, zone)
    after_chart = chart(page, outcome.timeline, start, zone) if outcome and outcome.timeline else ""
    return page.render(
        "number.html",
        http_status=status,
        d=detail,
        number=format_number(detail.row.number),
        digits=detail.row.number,
        f=fields,
        version=outcome.version if outcome and outcome.version else detail.row.version,
        outcome=outcome,
        errors=outcome.errors if outcome else {},
        week=now_chart,
        after=after_chart,
        statuses=STATUSES,
        prompt_kinds=PROMPT_FIELDS,
        max_targets=MAX_TARGETS,
        saved="saved" in page.request.query,
        hear_at=page.ctx.clock().astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        **await _history(page, detail.row.number),
    )


@pages.get("/numbers/{number}", "numbers.read")
async def number(page: ConsolePage) -> web.StreamResponse:
    """``GET /numbers/{number}``."""
    return await render_number(page, await load(page))


@pages.post("/numbers/{number}", "numbers.write")
async def number_save(page: ConsolePage) -> web.StreamResponse:
    """``POST /numbers/{number}``: ``action=dry_run`` shows what would change, ``save``
    saves and comes back to the page."""
    detail = await load(page)
    dry_run = page.form.get("action") != "save"
    outcome = await submit(page, detail, dry_run=dry_run)
    if outcome.conflict:
        fresh = await load(page)
        outcome.data = entry_to_data(fresh.entry)
        outcome.errors = {"": page.t("num.conflict")}
        return await render_number(page, fresh, outcome, status=409)
    if outcome.errors:
        return await render_number(page, detail, outcome, status=400)
    if outcome.saved:
        raise web.HTTPSeeOther(f"/numbers/{detail.row.number}?saved=1")
    return await render_number(page, detail, outcome)


@pages.get("/numbers/{number}/hear", "numbers.read")
async def hear(page: ConsolePage) -> web.StreamResponse:
    """``GET /numbers/{number}/hear?at=&caller=``: what a call at that time does (a
    fragment for htmx, or the whole page)."""
    detail = await load(page)
    config = await resolved(page, detail)
    zone = ZoneInfo(detail.timezone)
    raw, caller = page.query("at"), page.query("caller") or "01000000000"
    error, plan = "", None
    try:
        when = datetime.fromisoformat(raw) if raw else page.ctx.clock()
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
        plan = plan_call(config, caller, detail.row.number, when)
    except ValueError:
        error = f"{raw!r}: 2026-12-07T12:30"
        when = page.ctx.clock()
    context: dict[str, Any] = {
        "plan": plan,
        "error": error,
        "at": page.when(when),
        "hears": describe_hearing(plan) if plan else "",
        "steps": [describe_step(s) for s in plan.steps] if plan else [],
    }
    if page.request.headers.get("HX-Request"):
        return page.render("hear.html", **context)
    return page.render(
        "hear_page.html",
        number=format_number(detail.row.number),
        digits=detail.row.number,
        **context,
    )
