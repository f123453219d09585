"""Importing a configuration document: an idempotent upsert in one transaction.

Nothing changes when the database already holds the document (no new version, no history,
no notification). Any error rolls the whole import back and names the file and the number.
Numbers of a tenant that the database has but the document lacks are left as they are and
listed in the report. A dry run performs the very same import and rolls it back: its report
(and any refusal) is exactly what the real import would give, and nothing is kept (a
notification is only delivered on commit).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from ivr_engine.domain.checks import ERROR, Finding, check_document
from ivr_engine.domain.config_doc import resolve, settings_to_data
from ivr_engine.domain.model import (
    ConfigDocument,
    ForwardTarget,
    NumberEntry,
    NumberSettings,
    NumberStatus,
    TenantConfig,
)
from ivr_engine.domain.numbers import format_number
from ivr_engine.domain.target_changes import TargetChange, decide_target_change
from ivr_engine.errors import ConfigError, ConflictError, IvrError
from ivr_engine.store.config_repo import fetch_virtual_numbers
from ivr_engine.store.errors import map_db_error
from ivr_engine.store.members import sync_tenant_outbound
from ivr_engine.store.queries import queries


@dataclass
class LoadReport:
    """What an import did, for the command's output."""

    source: str
    tenants_created: list[str] = field(default_factory=list)
    tenants_updated: list[str] = field(default_factory=list)
    numbers_created: list[str] = field(default_factory=list)
    numbers_updated: list[str] = field(default_factory=list)
    numbers_unchanged: list[str] = field(default_factory=list)
    target_changes: list[tuple[str, TargetChange]] = field(default_factory=list)
    left_alone: list[tuple[str, str]] = field(default_factory=list)  # (tenant, number)
    warnings: list[Finding] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """True when the import modified anything."""
        return bool(
            self.tenants_created
            or self.tenants_updated
            or self.numbers_created
            or self.numbers_updated
        )

    def lines(self) -> list[str]:
        """A human summary, one fact per line."""
        out = [
            f"{self.source}: {len(self.tenants_created)} tenant(s) created, "
            f"{len(self.tenants_updated)} updated; {len(self.numbers_created)} number(s) "
            f"created, {len(self.numbers_updated)} updated, "
            f"{len(self.numbers_unchanged)} unchanged"
        ]
        for number, change in self.target_changes:
            forced = " (forced)" if change.forced else ""
            out.append(f"  forward targets of {format_number(number)}: {change.kind}{forced}")
        for tenant, number in self.left_alone:
            out.append(
                f"  {format_number(number)} of tenant {tenant} is not in the file: left unchanged"
            )
        out += [f"  {w}" for w in self.warnings]
        return out


async def _check(
    conn: asyncpg.Connection,
    doc: ConfigDocument,
    now: datetime,
    file_exists: Callable[[str], bool],
) -> list[Finding]:
    """The static checks of ``ivr-engine check`` against the database's other numbers;
    any error refuses the import (raised before anything is written), warnings are returned."""
    own = {e.number for t in doc.tenants for e in t.numbers}
    others = await fetch_virtual_numbers(conn)
    findings = check_document(
        doc, today=now.date(), file_exists=file_exists, other_virtual_numbers=others - own
    )
    errors = [f for f in findings if f.severity == ERROR]
    if errors:
        raise ConfigError(
            f"refused, {len(errors)} error(s), nothing loaded:\n" + "\n".join(map(str, errors))
        )
    return findings


def _json(value: Any) -> Any:
    """A value as it comes back from a jsonb column (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value))


def _layer_data(settings: NumberSettings) -> Any:
    """A layer's jsonb form, without what lives in relational tables."""
    return _json(
        settings_to_data(
            dataclasses.replace(settings, targets=None, block_list=None, free_pass=None)
        )
    )


def _keep_policy(data: Any, settings: NumberSettings, row: Any) -> Any:
    """The layer's data with the stored ``callback_sms`` kept when the file has none: that
    policy may have been set with ``ivr-engine sms policy set`` and a file that does not
    mention it does not remove it (``sms policy set --remove`` does)."""
    if row is None or settings.callback_sms is not None:
        return data
    stored = row["settings"].get("callback_sms")
    return data if stored is None else {**data, "callback_sms": stored}


def _targets_json(targets: tuple[ForwardTarget, ...]) -> list[dict[str, Any]]:
    return [{"number": t.number, "ring_seconds": t.ring_seconds} for t in targets]


def _list_pairs(settings: NumberSettings) -> set[tuple[str, str]]:
    """``{(list, caller)}`` of a layer's block list and free pass."""
    return {("block", c) for c in settings.block_list or ()} | {
        ("free_pass", c) for c in settings.free_pass or ()
    }


@dataclass
class _Import:
    """One import in progress on one connection."""

    conn: asyncpg.Connection
    report: LoadReport
    force_targets: bool
    origin: str
    now: datetime

    async def _sync_lists(self, scope: str, key: str, desired: set[tuple[str, str]]) -> bool:
        rows = await self.conn.fetch(queries()[f"{scope}_caller_lists"], key)
        stored = {(r["list"], r["caller"]) for r in rows}
        gone, new = sorted(stored - desired), sorted(desired - stored)
        if gone:
            await self.conn.execute(
                queries()[f"delete_{scope}_caller_entries"],
                key,
                [g[0] for g in gone],
                [g[1] for g in gone],
            )
        if new:
            await self.conn.execute(
                queries()[f"insert_{scope}_caller_entries"],
                key,
                [n[0] for n in new],
                [n[1] for n in new],
            )
        return bool(gone or new)

    async def tenant(self, tenant: TenantConfig) -> None:
        """Create or update one tenant and its tenant-wide caller lists."""
        q = queries()
        data = _layer_data(tenant.defaults)
        row = await self.conn.fetchrow(q["tenant_for_update"], tenant.id)
        data = _keep_policy(data, tenant.defaults, row)
        if row is None:
            await self.conn.execute(
                q["insert_tenant"], tenant.id, tenant.name, tenant.timezone, data
            )
            await self._sync_lists("tenant", tenant.id, _list_pairs(tenant.defaults))
            await sync_tenant_outbound(self.conn, tenant)
            self.report.tenants_created.append(tenant.id)
            return
        fields_changed = (row["name"], row["timezone"], row["settings"]) != (
            tenant.name,
            tenant.timezone,
            data,
        )
        if fields_changed:
            await self.conn.execute(
                q["update_tenant"], tenant.id, tenant.name, tenant.timezone, data
            )
        lists_changed = await self._sync_lists("tenant", tenant.id, _list_pairs(tenant.defaults))
        if lists_changed and not fields_changed:
            await self.conn.execute(q["bump_tenant_version"], tenant.id)
        outbound_changed = await sync_tenant_outbound(self.conn, tenant)
        if fields_changed or lists_changed or outbound_changed:
            self.report.tenants_updated.append(tenant.id)

    async def number(self, tenant: TenantConfig, entry: NumberEntry) -> None:
        """Create or update one number, its forward targets and its caller lists."""
        q = queries()
        resolved = resolve(tenant, entry)
        data = _layer_data(entry.settings)
        row = await self.conn.fetchrow(q["number_for_update"], entry.number)
        data = _keep_policy(data, entry.settings, row)
        fields = (tenant.id, entry.label, str(resolved.status), data)
        if row is None:
            await self.conn.execute(q["insert_number"], entry.number, *fields)
            changed = True
            self.report.numbers_created.append(entry.number)
        else:
            self._check_owner(row, tenant)
            changed = (row["tenant_id"], row["label"], row["status"], row["settings"]) != fields
            if changed:
                await self.conn.execute(q["update_number"], entry.number, *fields)
        targets_changed = await self._sync_targets(entry.number, resolved.targets, tenant)
        lists_changed = await self._sync_lists("number", entry.number, _list_pairs(entry.settings))
        if row is None:
            return
        if (targets_changed or lists_changed) and not changed:
            await self.conn.execute(q["bump_number_version"], entry.number)
        if changed or targets_changed or lists_changed:
            self.report.numbers_updated.append(entry.number)
        else:
            self.report.numbers_unchanged.append(entry.number)

    @staticmethod
    def _check_owner(row: Any, tenant: TenantConfig) -> None:
        """A number moves to another tenant only once it is terminated (and quarantined)."""
        if row["tenant_id"] != tenant.id and row["status"] != NumberStatus.TERMINATED:
            raise ConflictError(
                f"belongs to tenant {row['tenant_id']}; "
                "terminate it there before issuing it to another tenant"
            )

    async def _sync_targets(
        self, number: str, new: tuple[ForwardTarget, ...], tenant: TenantConfig
    ) -> bool:
        q = queries()
        rows = await self.conn.fetch(q["forward_targets"], number)
        old = tuple(ForwardTarget(r["target"], r["ring_seconds"]) for r in rows)
        if old == new:
            return False
        last = await self.conn.fetchval(q["last_target_change"], number)
        change = decide_target_change(
            old,
            new,
            last_change_at=last,
            now=self.now,
            force=self.force_targets,
            tz=ZoneInfo(tenant.timezone),
        )
        await self.conn.execute(q["delete_forward_targets"], number)
        if new:
            await self.conn.execute(
                q["insert_forward_targets"],
                number,
                [t.number for t in new],
                [t.ring_seconds for t in new],
            )
        await self.conn.execute(
            q["insert_target_change"],
            number,
            _targets_json(old),
            _targets_json(new),
            str(change.kind),
            change.forced,
            self.origin,
        )
        self.report.target_changes.append((number, change))
        return True

    async def left_alone(self, tenant: TenantConfig) -> None:
        """Note the tenant's numbers that the database has and the document lacks."""
        in_file = {e.number for e in tenant.numbers}
        for r in await self.conn.fetch(queries()["tenant_numbers"], tenant.id):
            if r["number"] not in in_file:
                self.report.left_alone.append((tenant.id, r["number"]))


class _RollBack(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


async def load_document(
    db: asyncpg.Pool | asyncpg.Connection,
    doc: ConfigDocument,
    *,
    source: str,
    force_targets: bool = False,
    now: datetime | None = None,
    origin: str = "load",
    file_exists: Callable[[str], bool] = lambda path: True,
    dry_run: bool = False,
) -> LoadReport:
    """Check, then upsert the whole document in one transaction and report what changed.

    The document first goes through the static checks of ``ivr-engine check`` (audio
    files tested with ``file_exists``): any error refuses the whole import, warnings are
    reported. ``now`` overrides the database clock for the rules (24-hour target changes,
    90-day quarantine); ``origin`` is recorded in the target change history. Errors name
    ``source`` and the number concerned; on any error nothing is applied. With ``dry_run``
    the import runs in full and is rolled back: the report says what it would do.
    """
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await load_document(
                conn,
                doc,
                source=source,
                force_targets=force_targets,
                now=now,
                origin=origin,
                file_exists=file_exists,
                dry_run=dry_run,
            )
    report = LoadReport(source, dry_run=dry_run)
    where = source
    try:
        async with db.transaction():
            await db.execute(queries()["lock_config"])
            if now is not None:
                await db.execute(queries()["set_now"], now)
            clock = await db.fetchval(queries()["now"])
            report.warnings = await _check(db, doc, clock, file_exists)
            job = _Import(db, report, force_targets, origin, clock)
            for tenant in doc.tenants:
                where = f"{source}: tenant {tenant.id}"
                await job.tenant(tenant)
            for tenant in doc.tenants:
                for entry in tenant.numbers:
                    where = f"{source}: number {format_number(entry.number)}"
                    await job.number(tenant, entry)
                await job.left_alone(tenant)
            if dry_run:
                raise _RollBack
    except _RollBack:
        pass
    except IvrError as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        mapped = map_db_error(exc, where)
        if mapped is None:
            raise
        raise mapped from exc
    return report
