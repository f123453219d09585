"""Times on the command line: every time a command prints is in its tenant's zone
(``tenants.timezone``; the engine's ``timezone`` setting, Asia/Seoul by default, for rows
without a tenant) and carries its offset, e.g. ``2026-12-04 10:15:00+09:00``, so a time
read off one command never has to be guessed at. Times typed without an offset are read
in the same zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from ivr_engine.app import open_database
from ivr_engine.domain.schedule import zone
from ivr_engine.errors import ValidationError
from ivr_engine.settings import Settings
from ivr_engine.store.executor import Executor
from ivr_engine.store.queries import queries

DEFAULT_ZONE = "Asia/Seoul"


def show_time(when: datetime | None, tz: tzinfo | str, *, seconds: bool = True) -> str:
    """``when`` as wall-clock time in ``tz`` with its offset (``2026-12-04 10:15:00+09:00``;
    without the seconds when ``seconds`` is false); empty for None. A naive datetime is
    taken as UTC (how the database's timestamps are meant), never as the machine's zone."""
    if when is None:
        return ""
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(zone(tz) if isinstance(tz, str) else tz)
    return local.isoformat(sep=" ", timespec="seconds" if seconds else "minutes")


def read_time(text: str, tz: tzinfo | str) -> datetime:
    """An ISO time typed on the command line; without an offset it is wall-clock time in
    ``tz``."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not an ISO time such as 2026-11-20T09:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz) if isinstance(tz, str) else tz)
    return when


class TenantZones:
    """Each tenant's zone, and the default for rows without a (known) tenant."""

    def __init__(self, zones: Mapping[str, str], default: str = DEFAULT_ZONE) -> None:
        self.default = default
        self._zones = dict(zones)

    def of(self, tenant_id: str | None) -> ZoneInfo:
        """The tenant's zone (the default when the tenant is unknown)."""
        return zone(self._zones.get(tenant_id or "", self.default))

    def show(self, when: datetime | None, tenant_id: str | None, *, seconds: bool = True) -> str:
        """``show_time`` in the tenant's zone."""
        return show_time(when, self.of(tenant_id), seconds=seconds)


async def tenant_zones(db: Executor, default: str = DEFAULT_ZONE) -> TenantZones:
    """Every tenant's zone, read once for a command's output."""
    rows = await db.fetch(queries()["tenants"])
    return TenantZones({r["id"]: r["timezone"] for r in rows}, default)


async def load_zones(settings: Settings) -> TenantZones:
    """``tenant_zones`` on a connection of its own (for commands that print after their
    database work is done)."""
    async with open_database(settings, max_size=1) as db:
        return await tenant_zones(db.pool, settings.timezone)
