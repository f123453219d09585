"""Reading the configuration model back from Postgres.

A number's ``NumberConfig`` is built exactly as the document's would be: the tenant's
defaults layer and the number's own layer go through ``config_doc.resolve``. Forward targets
(the number's effective list) and caller lists come from their tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ivr_engine.domain.config_doc import resolve, settings_from_data
from ivr_engine.domain.members import CallerId, parse_outbound
from ivr_engine.domain.model import (
    ConfigDocument,
    ForwardTarget,
    NumberConfig,
    NumberEntry,
    NumberSettings,
    TenantConfig,
)
from ivr_engine.store.executor import Executor
from ivr_engine.store.members import export_tenant_outbound
from ivr_engine.store.queries import queries

Row = Mapping[str, Any]


def _callers(values: Sequence[str] | None) -> frozenset[str] | None:
    """A caller list layer: None when empty (nothing set at this layer)."""
    return frozenset(values) if values else None


def tenant_layer(row: Row) -> NumberSettings:
    """The tenant defaults layer of a ``number_config_sources`` row."""
    base = settings_from_data(row["tenant_settings"], path=f"tenant {row['tenant_id']}")
    return dataclasses.replace(
        base, block_list=_callers(row["tenant_block"]), free_pass=_callers(row["tenant_free_pass"])
    )


def number_layer(row: Row) -> NumberSettings:
    """The number's own layer of a ``number_config_sources`` row (targets = effective list)."""
    base = settings_from_data(row["number_settings"], path=f"number {row['number']}")
    targets = tuple(ForwardTarget(str(n), int(s)) for n, s in row["targets"])
    return dataclasses.replace(
        base,
        targets=targets,
        block_list=_callers(row["number_block"]),
        free_pass=_callers(row["number_free_pass"]),
    )


def config_from_row(row: Row) -> NumberConfig:
    """The resolved configuration of one ``number_config_sources`` row."""
    outbound = row.get("tenant_outbound")
    tenant = TenantConfig(
        id=row["tenant_id"],
        name=row["tenant_name"],
        timezone=row["timezone"],
        defaults=tenant_layer(row),
        # only what resolving this number needs: the rules, and itself if a verified caller ID
        outbound=None if outbound is None else parse_outbound(outbound, "outbound"),
        caller_ids=(CallerId(row["number"], True),) if row.get("shown_verified") else None,
    )
    entry = NumberEntry(number=row["number"], settings=number_layer(row), label=row["label"])
    return resolve(tenant, entry, version=int(row["version"]))


async def fetch_number_config(db: Executor, number: str) -> NumberConfig | None:
    """The resolved configuration of one (normalised) number, or None when unknown."""
    row = await db.fetchrow(queries()["number_config"], number)
    return None if row is None else config_from_row(row)


async def fetch_all_number_configs(
    db: Executor, tenant_id: str | None = None
) -> list[NumberConfig]:
    """Every number's resolved configuration (of one tenant when given), by number."""
    rows = await db.fetch(queries()["all_number_configs"], tenant_id)
    return [config_from_row(r) for r in rows]


async def fetch_virtual_numbers(db: Executor) -> frozenset[str]:
    """Every virtual number known to the database, whatever its status."""
    rows = await db.fetch(queries()["all_virtual_numbers"])
    return frozenset(r["number"] for r in rows)


async def tenant_config(db: Executor, t: Row, numbers: Sequence[Row]) -> TenantConfig:
    """One tenant as a document holds it: its row (id, name, timezone, settings), its
    caller lists and outbound keys, and its numbers' ``number_config_sources`` rows."""
    defaults = settings_from_data(t["settings"], path=f"tenant {t['id']}")
    lists = await db.fetch(queries()["tenant_caller_lists"], t["id"])
    defaults = dataclasses.replace(
        defaults,
        block_list=_callers([r["caller"] for r in lists if r["list"] == "block"]),
        free_pass=_callers([r["caller"] for r in lists if r["list"] == "free_pass"]),
    )
    entries = tuple(NumberEntry(r["number"], number_layer(r), r["label"]) for r in numbers)
    caller_ids, members, outbound = await export_tenant_outbound(db, t["id"])
    return TenantConfig(
        t["id"], t["name"], t["timezone"], defaults, entries, caller_ids, members, outbound
    )


async def export_tenant(db: Executor, tenant_id: str) -> TenantConfig | None:
    """One tenant with every number of it, as ``export_document`` gives it (None when the
    tenant does not exist)."""
    t = await db.fetchrow(
        "SELECT id, name, timezone, settings, version FROM tenants WHERE id = $1", tenant_id
    )
    if t is None:
        return None
    return await tenant_config(db, t, await db.fetch(queries()["all_number_configs"], tenant_id))


async def export_document(db: Executor) -> ConfigDocument:
    """The database's configuration as a document (for ``check`` without a file).

    Each number carries its effective forward targets in its own layer.
    """
    rows = await db.fetch(queries()["all_number_configs"], None)
    by_tenant: dict[str, list[Row]] = {}
    for row in rows:
        by_tenant.setdefault(row["tenant_id"], []).append(row)
    tenants = [
        await tenant_config(db, t, by_tenant.get(t["id"], []))
        for t in await db.fetch(queries()["tenants"])
    ]
    return ConfigDocument(tuple(tenants))
