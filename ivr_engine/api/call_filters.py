"""Reading the call records' query parameters (period, number, caller, dispositions,
tenant, cursor) and showing one record as the API does (times in the tenant's zone with
their offset, callers and forward targets masked unless revealed)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr_engine.api.errors import bad_input
from ivr_engine.api.registry import ApiRequest, Param
from ivr_engine.domain.access import Principal, shown_number
from ivr_engine.domain.numbers import format_number, mask, try_normalize
from ivr_engine.domain.records import Disposition
from ivr_engine.store.records_search import CallSearch

PERIOD_PARAMS = (
    Param("from", "start: ISO date or time; without an offset, the tenant's zone"),
    Param("to", "end (excluded); a date includes that whole day"),
)
SEARCH_PARAMS = (
    *PERIOD_PARAMS,
    Param("number", "one virtual number (dashes allowed)"),
    Param("caller", "one calling number, or 'anonymous'"),
    Param("disposition", "one or several, comma-separated: " + ", ".join(Disposition)),
    Param("tenant", "one tenant"),
)


def parse_when(text: str, zone: ZoneInfo, field: str, *, end: bool = False) -> datetime:
    """An ISO date or time; a date is its midnight (``end``: the next one, so that day is
    included); no offset means ``zone``. 400 naming ``field`` otherwise."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date() + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), zone)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise bad_input(
            f"{text!r} is not a date or time such as 2026-11-20 or 2026-11-20T12:00", field
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=zone)


async def request_zone(req: ApiRequest) -> ZoneInfo:
    """The zone times without an offset are read in: the ``tenant`` asked for, else the
    principal's tenant, else the platform's."""
    tenant = req.query("tenant") or req.principal.tenant_id
    if tenant is not None and req.reach.sees_tenant(tenant):
        async with req.ctx.pool.acquire() as conn:
            name = await conn.fetchval("SELECT timezone FROM tenants WHERE id = $1", tenant)
        if name:
            return ZoneInfo(name)
    return req.ctx.zone


def _dispositions(req: ApiRequest) -> tuple[str, ...]:
    out: list[str] = []
    for raw in req.request.query.getall("disposition", []):
        for part in raw.split(","):
            name = part.strip().upper().replace(" ", "_")
            if not name:
                continue
            if name not in Disposition.__members__:
                raise bad_input(
                    f"unknown disposition {part.strip()!r}; one of {', '.join(Disposition)}",
                    "disposition",
                )
            if name not in out:
                out.append(name)
    return tuple(out)


def _digits(req: ApiRequest, name: str) -> str | None:
    raw = req.query(name)
    if raw is None:
        return None
    if name == "caller" and raw.lower() == "anonymous":
        return ""
    digits = try_normalize(raw)
    if not digits:
        raise bad_input(f"{raw!r} is not a phone number", name)
    return digits


def search_of(req: ApiRequest, zone: ZoneInfo) -> CallSearch:
    """The filters of a records request."""
    start, end = req.query("from"), req.query("to")
    search = CallSearch(
        start=parse_when(start, zone, "from") if start else None,
        end=parse_when(end, zone, "to", end=True) if end else None,
        number=_digits(req, "number"),
        caller=_digits(req, "caller"),
        dispositions=_dispositions(req),
        tenant_id=req.query("tenant"),
    )
    if search.start and search.end and search.end <= search.start:
        raise bad_input("to must be after from", "to")
    return search


def cursor_key(cursor: dict[str, Any] | None) -> tuple[datetime, str] | None:
    """The keyset of a ``next_cursor`` this API gave."""
    if cursor is None:
        return None
    try:
        return datetime.fromisoformat(cursor["t"]), str(cursor["id"])
    except (KeyError, TypeError, ValueError):
        raise bad_input("cursor is not one this API gave", "cursor") from None


def local(when: datetime | None, zone: ZoneInfo) -> str | None:
    """An ISO time in ``zone`` with its offset."""
    return when.astimezone(zone).isoformat() if when is not None else None


def zone_of(row: Any, default: ZoneInfo) -> ZoneInfo:
    """The zone of a record's tenant (``default`` when unknown)."""
    name = row["timezone"]
    return ZoneInfo(name) if name else default


class Shown:
    """How numbers are shown to one principal: in full when revealed, else masked."""

    def __init__(self, principal: Principal, reveal: bool) -> None:
        self.principal = principal
        self.reveal = reveal

    def number(self, value: str | None) -> str | None:
        """A caller's or forward target's number as this principal sees it."""
        if value is None:
            return None
        return shown_number(self.principal, value, reveal=self.reveal) if value else ""

    def raw(self, value: str) -> str:
        """A caller ID as received."""
        return value if self.reveal else (mask(value) if value else "")


def call_item(row: Any, shown: Shown, default: ZoneInfo) -> dict[str, Any]:
    """One record in a list."""
    zone = zone_of(row, default)
    caller = row["caller"]
    return {
        "call_id": row["call_id"],
        "tenant_id": row["tenant_id"],
        "number": row["number"],
        "number_formatted": format_number(row["number"]),
        "caller": shown.number(caller) if caller else "anonymous",
        "caller_raw": shown.raw(row["caller_raw"]),
        "start_time": local(row["start_time"], zone),
        "ring_time": local(row["ring_time"], zone),
        "answer_time": local(row["answer_time"], zone),
        "connect_time": local(row["connect_time"], zone),
        "end_time": local(row["end_time"], zone),
        "ring_seconds": row["ring_seconds"],
        "talk_seconds": row["billsec"],
        "duration": row["duration"],
        "disposition": row["disposition"],
        "closed_state": row["closed_state"],
        "answered_target": shown.number(row["answered_target"]),
        "hangup_by": row["hangup_by"],
        "hangup_cause": row["hangup_cause"],
    }
