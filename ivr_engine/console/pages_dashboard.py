"""The dashboard: today's calls by hour, answer rate, missed calls, texts sent, agents now
and what needs attention."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from ivr_engine.console import queries
from ivr_engine.console.charts import Bar, Segment, stacked_bars
from ivr_engine.console.fmt import percent
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.timeline import local_midnight

pages = ConsoleRoutes()


def hourly_bars(rows: list[queries.Counts]) -> list[Bar]:
    """24 bars (00..23) of answered and missed calls."""
    by_hour = {int(r.period): r for r in rows}
    bars = []
    for hour in range(24):
        r = by_hour.get(hour)
        answered, missed = (r.answered, r.missed) if r else (0, 0)
        bars.append(Bar(f"{hour:02d}", (Segment(answered, "answered"), Segment(missed, "missed"))))
    return bars


@pages.get("/", "tenants.read")
async def dashboard(page: ConsolePage) -> web.StreamResponse:
    """``GET /``."""
    now = page.ctx.clock()
    today = now.astimezone(page.zone).date()
    start = local_midnight(today, page.zone)
    end = local_midnight(today + timedelta(days=1), page.zone)
    reach = page.reach
    async with page.ctx.pool.acquire() as conn:
        hours = await queries.counts(
            conn, reach, start=start, end=end, by="hour", zone=str(page.zone)
        )
        sent = await queries.sms_sent(conn, reach, start=start, end=end)
        alerts = await queries.alerts(conn, reach, since=start)
        agents = await queries.list_agents(conn, reach) if page.may("agents.read") else []
    offered = sum(r.offered for r in hours)
    answered = sum(r.answered for r in hours)
    states: dict[str, int] = {}
    for a in agents:
        states[a["state"]] = states.get(a["state"], 0) + 1
    chart = stacked_bars(hourly_bars(hours), title=page.t("dash.by_hour"), every=3)
    return page.render(
        "dashboard.html",
        today=today,
        offered=offered,
        answered=answered,
        missed=offered - answered,
        rate=percent(answered, offered),
        sent=sent,
        alerts=alerts,
        states=sorted(states.items()),
        chart=chart,
    )
