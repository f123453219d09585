"""``/api/v1/stats``: statistics inside the principal's reach, by day or by hour in each
tenant's zone.

- ``/stats/numbers``: per number: offered, answered, answer rate, missed, closed, blocked,
  average ring and talk; and the ad effect: calls, unique callers, first-time callers.
- ``/stats/queues``: per queue: offered, answered, abandoned (short abandons apart),
  overflow, callbacks, answer rate, service level (the queue's own threshold and mode),
  average and longest wait, average talk.

Without ``from``, a period starts today (by hour) or six days before today (by day);
``to`` is the end of today. A period is at most 31 days by hour, 366 by day.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr_engine.api.call_filters import PERIOD_PARAMS, parse_when, request_zone
from ivr_engine.api.common import respond
from ivr_engine.api.errors import bad_input
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.domain.acd import queue_stats
from ivr_engine.domain.numbers import format_number, try_normalize
from ivr_engine.domain.queue_doc import QueueConfig
from ivr_engine.store import config_edit
from ivr_engine.store.records_stats import NumberPeriod, number_stats, queue_facts

routes = ApiRoutes()
_BY = Param("by", "day (default) or hour", enum=("day", "hour"))
_TENANT = Param("tenant", "one tenant")
MAX_DAYS = {"day": 366, "hour": 31}


def _by(req: ApiRequest) -> str:
    by = req.query("by", "day") or "day"
    if by not in MAX_DAYS:
        raise bad_input("by is day or hour", "by")
    return by


def period_of(req: ApiRequest, zone: ZoneInfo, by: str) -> tuple[datetime, datetime]:
    """The period asked for (defaults: see the module docstring); 400 when too long."""
    today = req.ctx.clock().astimezone(zone).date()
    raw_from, raw_to = req.query("from"), req.query("to")
    end = (
        parse_when(raw_to, zone, "to", end=True)
        if raw_to
        else datetime.combine(today + timedelta(days=1), time(), zone)
    )
    first = today - timedelta(days=6 if by == "day" else 0)
    start = (
        parse_when(raw_from, zone, "from") if raw_from else datetime.combine(first, time(), zone)
    )
    if end <= start:
        raise bad_input("to must be after from", "to")
    if end - start > timedelta(days=MAX_DAYS[by]):
        raise bad_input(f"by {by}, a period is at most {MAX_DAYS[by]} days", "from")
    return start, end


def _period_text(value: Any) -> str:
    return str(value.isoformat())


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def number_item(s: NumberPeriod) -> dict[str, Any]:
    """One number in one period, as the API shows it."""
    return {
        "number": s.number,
        "number_formatted": format_number(s.number),
        "tenant_id": s.tenant_id,
        "period": _period_text(s.period),
        "offered": s.offered,
        "answered": s.answered,
        "answer_rate": _round(s.answer_rate, 4),
        "missed": s.missed,
        "closed": s.closed,
        "blocked": s.blocked,
        "avg_ring_seconds": _round(s.avg_ring),
        "avg_talk_seconds": _round(s.avg_talk),
        "ad_effect": {
            "calls": s.calls,
            "unique_callers": s.unique_callers,
            "first_time_callers": s.first_time_callers,
        },
    }


def _head(by: str, start: datetime, end: datetime, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "by": by,
        "from": start.astimezone(zone).isoformat(),
        "to": end.astimezone(zone).isoformat(),
    }


@routes.get(
    "/stats/numbers",
    "stats.read",
    "Per number by day or hour: answer rate, misses, waits, and the ad effect",
    tag="stats",
    params=(_BY, *PERIOD_PARAMS, Param("number", "one virtual number"), _TENANT),
)
async def numbers_stats(req: ApiRequest) -> web.StreamResponse:
    by = _by(req)
    zone = await request_zone(req)
    start, end = period_of(req, zone, by)
    raw = req.query("number")
    number = try_normalize(raw) if raw else None
    if raw and not number:
        raise bad_input(f"{raw!r} is not a phone number", "number")
    async with req.ctx.pool.acquire() as conn:
        rows = await number_stats(
            conn,
            req.reach,
            by=by,
            start=start,
            end=end,
            number=number,
            tenant_id=req.query("tenant"),
            default_zone=req.ctx.timezone,
        )
    return respond(dict(_head(by, start, end, zone), items=[number_item(s) for s in rows]))


async def _queue_configs(req: ApiRequest, tenants: set[str]) -> dict[tuple[str, str], Any]:
    """Each tenant's queues by id (a number's own definition wins)."""
    out: dict[tuple[str, str], Any] = {}
    async with req.ctx.pool.acquire() as conn:
        for tenant_id in sorted(tenants):
            tenant = await config_edit.export_tenant(conn, tenant_id)
            if tenant is None:
                continue
            layers = [tenant.defaults, *(n.settings for n in tenant.numbers)]
            for layer in layers:
                for q in layer.queues or ():
                    out[(tenant_id, q.id)] = q
    return out


def queue_item(tenant_id: str, queue: QueueConfig, period: Any, facts: list[Any]) -> dict[str, Any]:
    """One queue in one period, as the API shows it."""
    s = queue_stats(
        facts,
        threshold=queue.service_level_seconds,
        mode=queue.service_level,
        short_abandon=queue.short_abandon_seconds,
    )
    return {
        "tenant_id": tenant_id,
        "queue": queue.id,
        "name": queue.label,
        "period": _period_text(period),
        "offered": s.offered,
        "answered": s.answered,
        "abandoned": s.abandoned,
        "short_abandoned": s.short_abandoned,
        "overflowed": s.overflowed,
        "callbacks": s.callbacks,
        "answer_rate": _round(s.answer_rate, 4),
        "service_level": _round(s.service_level, 4),
        "service_level_seconds": queue.service_level_seconds,
        "service_level_mode": queue.service_level.value,
        "avg_wait_seconds": _round(s.avg_wait),
        "max_wait_seconds": _round(s.max_wait),
        "avg_talk_seconds": _round(s.avg_talk),
    }


@routes.get(
    "/stats/queues",
    "stats.read",
    "Per queue by day or hour: service level, abandons, waits",
    tag="stats",
    params=(_BY, *PERIOD_PARAMS, Param("queue", "one queue id"), _TENANT),
)
async def queues_stats(req: ApiRequest) -> web.StreamResponse:
    by = _by(req)
    zone = await request_zone(req)
    start, end = period_of(req, zone, by)
    async with req.ctx.pool.acquire() as conn:
        groups = await queue_facts(
            conn,
            req.reach,
            by=by,
            start=start,
            end=end,
            queue=req.query("queue"),
            tenant_id=req.query("tenant"),
            default_zone=req.ctx.timezone,
        )
    configs = await _queue_configs(req, {g.tenant_id for g in groups})
    items = [
        queue_item(
            g.tenant_id,
            configs.get((g.tenant_id, g.queue_id)) or QueueConfig(g.queue_id),
            g.period,
            g.facts,
        )
        for g in groups
    ]
    return respond(dict(_head(by, start, end, zone), items=items))
