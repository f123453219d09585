"""Reading and changing one number or one tenant, for the admin API and the console.

Every change goes through ``load_document`` with a document of that one tenant: the same
static checks as ``ivr-engine check`` / ``load`` (an ERROR refuses it all), the same 24-hour
target lock and quarantine, one transaction; a dry run rolls it back and reports. The
caller's version (the ETag) is compared under the configuration lock, so two admins never
overwrite each other silently.

Visibility is part of every query: ``Reach`` (tenants, branch, number) is in the WHERE
clause, so another tenant's number is never read, not even to say it exists.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ivr_engine.domain.access import Reach
from ivr_engine.domain.config_doc import entry_to_data
from ivr_engine.domain.model import ConfigDocument, NumberEntry, TenantConfig
from ivr_engine.errors import ConflictError, NotFoundError
from ivr_engine.store.config_repo import export_tenant, number_layer
from ivr_engine.store.executor import Executor
from ivr_engine.store.loader import LoadReport, load_document
from ivr_engine.store.queries import queries

_REACH = (
    "($1::text[] IS NULL OR vn.tenant_id = ANY($1)) AND ($2::text IS NULL OR vn.branch_id = $2) "
    "AND ($3::text IS NULL OR vn.number = $3)"
)


def reach_args(reach: Reach) -> tuple[Any, ...]:
    """The three parameters of the reach filter ($1 tenants, $2 branch, $3 number)."""
    tenants = list(reach.tenants) if reach.tenants is not None else None
    return tenants, reach.branch, reach.number


@dataclass(frozen=True)
class NumberRow:
    """A number in a list."""

    number: str
    tenant_id: str
    label: str
    status: str
    branch_id: str | None
    version: int
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        """As the API shows it."""
        return dataclasses.asdict(self)


_ROW_COLUMNS = (
    "vn.number, vn.tenant_id, vn.label, vn.status, vn.branch_id, vn.version, vn.updated_at"
)


async def list_numbers(
    db: Executor,
    reach: Reach,
    *,
    after: str | None = None,
    limit: int = 50,
    tenant_id: str | None = None,
    status: str | None = None,
    search: str | None = None,
) -> list[NumberRow]:
    """Numbers inside ``reach``, by number, after ``after`` (the previous page's last)."""
    rows = await db.fetch(
        f"SELECT {_ROW_COLUMNS} FROM virtual_numbers vn WHERE {_REACH} "
        "AND ($4::text IS NULL OR vn.number > $4) AND ($5::text IS NULL OR vn.tenant_id = $5) "
        "AND ($6::text IS NULL OR vn.status = $6) "
        "AND ($7::text IS NULL OR vn.number LIKE '%' || $7 || '%' "
        "OR vn.label ILIKE '%' || $7 || '%') "
        "ORDER BY vn.number LIMIT $8",
        *reach_args(reach),
        after,
        tenant_id,
        status,
        search,
        limit,
    )
    return [NumberRow(**dict(r)) for r in rows]


@dataclass(frozen=True)
class NumberDetail:
    """One number: its row, its own settings as the configuration file writes them, and its
    tenant's zone."""

    row: NumberRow
    entry: NumberEntry
    timezone: str

    def public(self) -> dict[str, Any]:
        """As the API shows it: the row plus ``config`` (the number's YAML entry as JSON)."""
        out = self.row.public()
        out["timezone"] = self.timezone
        out["config"] = entry_to_data(self.entry)
        return out


async def get_number(db: Executor, reach: Reach, number: str) -> NumberDetail | None:
    """The number if it exists inside ``reach``, else None."""
    row = await db.fetchrow(
        f"SELECT {_ROW_COLUMNS}, s.*, t.timezone AS tz FROM virtual_numbers vn "
        "JOIN number_config_sources s ON s.number = vn.number "
        f"JOIN tenants t ON t.id = vn.tenant_id WHERE {_REACH} AND vn.number = $4",
        *reach_args(reach),
        number,
    )
    if row is None:
        return None
    base = NumberRow(**{k: row[k] for k in NumberRow.__dataclass_fields__})
    entry = NumberEntry(row["number"], number_layer(row), row["label"])
    return NumberDetail(base, entry, row["tz"])


@dataclass(frozen=True)
class Change:
    """What a write did (or, for a dry run, would do)."""

    report: LoadReport
    version: int | None  # the number's or tenant's version after the change


async def _locked_version(conn: asyncpg.Connection, table: str, key: str) -> int | None:
    column = "number" if table == "virtual_numbers" else "id"
    value = await conn.fetchval(f"SELECT version FROM {table} WHERE {column} = $1 FOR UPDATE", key)
    return None if value is None else int(value)


async def change_number(
    conn: asyncpg.Connection,
    tenant_id: str,
    entry: NumberEntry,
    *,
    expected_version: int | None,
    dry_run: bool = False,
    force_targets: bool = False,
    now: datetime | None = None,
    origin: str = "api",
    source: str = "api",
) -> Change:
    """Create (``expected_version`` None) or replace one number of ``tenant_id`` with
    ``entry``, in the caller's transaction. ConflictError with the current version when the
    number changed since ``expected_version`` (or exists when creating)."""
    await conn.execute(queries()["lock_config"])
    current = await _locked_version(conn, "virtual_numbers", entry.number)
    if expected_version is None and current is not None:
        raise ConflictError(f"number {entry.number} already exists (version {current})")
    if expected_version is not None and current != expected_version:
        if current is None:
            raise NotFoundError(f"number {entry.number} not found")
        raise ConflictError(
            f"number {entry.number} was changed meanwhile: version {current}, "
            f"not {expected_version}"
        )
    tenant = await export_tenant(conn, tenant_id)
    if tenant is None:
        raise NotFoundError(f"tenant {tenant_id} not found")
    doc = ConfigDocument((dataclasses.replace(tenant, numbers=(entry,)),))
    report = await load_document(
        conn,
        doc,
        source=source,
        force_targets=force_targets,
        now=now,
        origin=origin,
        dry_run=dry_run,
    )
    report.left_alone = []
    after = None if dry_run else await _locked_version(conn, "virtual_numbers", entry.number)
    return Change(report, after)


async def change_tenant(
    conn: asyncpg.Connection,
    tenant: TenantConfig,
    *,
    expected_version: int | None,
    dry_run: bool = False,
    now: datetime | None = None,
    origin: str = "api",
) -> Change:
    """Replace a tenant's name, zone and defaults (its numbers as they are), or create it
    (``expected_version`` None), checked and versioned like ``change_number``."""
    await conn.execute(queries()["lock_config"])
    current = await _locked_version(conn, "tenants", tenant.id)
    if expected_version is None and current is not None:
        raise ConflictError(f"tenant {tenant.id} already exists (version {current})")
    if expected_version is not None and current != expected_version:
        if current is None:
            raise NotFoundError(f"tenant {tenant.id} not found")
        raise ConflictError(
            f"tenant {tenant.id} was changed meanwhile: version {current}, not {expected_version}"
        )
    existing = await export_tenant(conn, tenant.id)
    numbers = existing.numbers if existing is not None else ()
    doc = ConfigDocument((dataclasses.replace(tenant, numbers=numbers),))
    report = await load_document(conn, doc, source="api", now=now, origin=origin, dry_run=dry_run)
    after = None if dry_run else await _locked_version(conn, "tenants", tenant.id)
    return Change(report, after)


async def tenant_versions(db: Executor, tenants: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Tenants inside the reach with their version and counts, by id."""
    rows = await db.fetch(
        "SELECT t.id, t.name, t.timezone, t.version, t.updated_at, t.ip_allowlist::text[] AS "
        "ip_allowlist, (SELECT count(*) FROM virtual_numbers vn WHERE vn.tenant_id = t.id) "
        "AS numbers FROM tenants t WHERE $1::text[] IS NULL OR t.id = ANY($1) ORDER BY t.id",
        list(tenants) if tenants is not None else None,
    )
    return [dict(r) for r in rows]
