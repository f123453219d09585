"""Statistics: calls per day (answered and missed), the answer rate, calls by hour, the
ad effect of each number (calls, unique and first-time callers per day), and the queues'
service level, abandon and waits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from ivr_engine.console import queries
from ivr_engine.console.charts import Bar, Segment, rate_line, stacked_bars
from ivr_engine.console.fmt import percent
from ivr_engine.console.pages_dashboard import hourly_bars
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.numbers import format_number, try_normalize
from ivr_engine.domain.timeline import local_midnight
from ivr_engine.store import config_edit, queue_stats

pages = ConsoleRoutes()
PERIODS = (7, 14, 30, 90)


def daily_bars(rows: list[queries.Counts], first: date, days: int) -> list[Bar]:
    """One bar per day from ``first``: answered and missed."""
    by_day = {r.period: r for r in rows}
    bars = []
    for i in range(days):
        day = first + timedelta(days=i)
        r = by_day.get(day)
        answered, missed = (r.answered, r.missed) if r else (0, 0)
        bars.append(Bar(f"{day:%m-%d}", (Segment(answered, "answered"), Segment(missed, "missed"))))
    return bars


async def _queues(page: ConsolePage, start: Any, end: Any) -> list[dict[str, Any]]:
    """Every queue of the tenants in reach with its statistics (not for branch, number or
    agent reach: queues are tenant-wide)."""
    reach = page.reach
    if reach.branch or reach.number or reach.agent:
        return []
    out = []
    async with page.ctx.pool.acquire() as conn:
        tenants = await config_edit.tenant_versions(conn, reach.tenants)
        configs = [await config_edit.export_tenant(conn, t["id"]) for t in tenants]
    for tenant in configs:
        if tenant is None:
            continue
        for queue in tenant.defaults.queues or ():
            s = await queue_stats.queue_report(
                page.ctx.pool, tenant.id, queue, start=start, end=end
            )
            out.append({"tenant": tenant.id, "id": queue.id, "name": queue.name, "s": s})
    return out


@pages.get("/stats", "stats.read")
async def stats(page: ConsolePage) -> web.StreamResponse:
    """``GET /stats?days=&number=``."""
    days = int(page.query("days")) if page.query("days").isdigit() else 7
    days = days if days in PERIODS else 7
    number = try_normalize(page.query("number")) if page.query("number") else None
    today = page.ctx.clock().astimezone(page.zone).date()
    first = today - timedelta(days=days - 1)
    start = local_midnight(first, page.zone)
    end = local_midnight(today + timedelta(days=1), page.zone)
    zone = str(page.zone)
    async with page.ctx.pool.acquire() as conn:
        daily = await queries.counts(
            conn, page.reach, start=start, end=end, by="day", zone=zone, number=number
        )
        hourly = await queries.counts(
            conn, page.reach, start=start, end=end, by="hour", zone=zone, number=number
        )
        first_time = await queries.first_time_callers(
            conn, page.reach, start=start, end=end, zone=zone
        )
    rates = [(f"{first + timedelta(days=i):%m-%d}", None) for i in range(days)]
    by_day = {r.period: r for r in daily}
    points = [
        (
            label,
            by_day[first + timedelta(days=i)].rate if first + timedelta(days=i) in by_day else None,
        )
        for i, (label, _none) in enumerate(rates)
    ]
    every = max(1, days // 10)
    return page.render(
        "stats.html",
        days=days,
        periods=PERIODS,
        number=page.query("number"),
        daily_chart=stacked_bars(
            daily_bars(daily, first, days), title=page.t("stats.daily"), every=every
        ),
        rate_chart=rate_line(points, title=page.t("stats.rate")),
        hourly_chart=stacked_bars(hourly_bars(hourly), title=page.t("stats.hourly"), every=3),
        daily=daily,
        first_time=first_time,
        total_offered=sum(r.offered for r in daily),
        total_answered=sum(r.answered for r in daily),
        percent=percent,
        queues=await _queues(page, start, end),
        fmt=format_number,
    )
