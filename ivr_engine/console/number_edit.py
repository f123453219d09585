"""Saving a number from the console's form: the same path as ``PUT /api/v1/numbers/{n}``
(``store.config_edit.change_number`` inside one transaction with its audit row, the form's
hidden version as If-Match), with the failures turned into messages for the form's fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ivr_engine.console.forms import apply_form, config_diff, field_of, field_of_message
from ivr_engine.console.web import ConsolePage
from ivr_engine.domain.config_doc import entry_from_data, entry_to_data, resolve
from ivr_engine.domain.timeline import TimelinePeriod, week_timeline
from ivr_engine.errors import (
    ConfigError,
    ConflictError,
    NumberQuarantined,
    TargetChangeLocked,
    ValidationError,
)
from ivr_engine.store import audit, config_edit
from ivr_engine.store.config_edit import NumberDetail


@dataclass
class Outcome:
    """What a submit of the form came to."""

    data: dict[str, Any]  # the entry the form asked for
    errors: dict[str, str] = field(default_factory=dict)  # form field ('' = the form) -> text
    diff: list[tuple[str, str, str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timeline: list[TimelinePeriod] = field(default_factory=list)
    saved: bool = False
    conflict: bool = False
    version: int | None = None


def _plain(value: Any) -> Any:
    """``value`` with its times as ISO text (what the audit log's JSON can hold)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat(), ensure_ascii=False))


def _add(errors: dict[str, str], name: str, message: str) -> None:
    errors[name] = f"{errors[name]}\n{message}" if name in errors else message


async def submit(page: ConsolePage, detail: NumberDetail, *, dry_run: bool) -> Outcome:
    """Check (and, unless ``dry_run``, save) the posted form for ``detail``'s number."""
    old = entry_to_data(detail.entry)
    data, errors = apply_form(old, page.form)
    out = Outcome(data, errors, config_diff(old, data))
    try:
        expected = int(page.form.get("version", ""))
    except ValueError:
        _add(out.errors, "", "the form has no version; reload the page")
        return out
    if out.errors:
        return out
    try:
        entry = entry_from_data(data, "number")
    except ValidationError as exc:
        _add(out.errors, field_of(exc.path), str(exc))
        return out
    force = page.form.get("force_targets") == "on" and page.may("numbers.create")
    tenant_id = detail.row.tenant_id
    try:
        async with page.ctx.pool.acquire() as conn, conn.transaction():
            change = await config_edit.change_number(
                conn,
                tenant_id,
                entry,
                expected_version=expected,
                dry_run=dry_run,
                force_targets=force,
                origin=f"console:{page.principal.email}",
                source="console",
            )
            if not dry_run and change.report.changed:
                await audit.append(
                    conn,
                    page.actor,
                    action="number.update",
                    resource="number",
                    resource_id=entry.number,
                    tenant_id=tenant_id,
                    old=_plain(dict(detail.public(), version=detail.row.version)),
                    new={"config": entry_to_data(entry), "version": change.version},
                    detail={
                        "warnings": [str(w) for w in change.report.warnings],
                        "summary": change.report.lines(),
                    },
                )
            tenant = await config_edit.export_tenant(conn, tenant_id)
    except (TargetChangeLocked, NumberQuarantined) as exc:
        _add(out.errors, "targets", str(exc))
        return out
    except ConflictError as exc:
        out.conflict = True
        _add(out.errors, "", str(exc))
        return out
    except ConfigError as exc:
        for line in str(exc).splitlines()[1:] or [str(exc)]:
            _add(out.errors, field_of_message(line), line.strip())
        return out
    except ValidationError as exc:
        _add(out.errors, field_of(exc.path), str(exc))
        return out
    out.summary = change.report.lines()
    out.warnings = [str(w) for w in change.report.warnings]
    out.saved = not dry_run
    out.version = change.version if not dry_run else expected
    if tenant is not None:
        zone = ZoneInfo(tenant.timezone)
        start = page.ctx.clock().astimezone(zone).date()
        out.timeline = week_timeline(resolve(tenant, entry), start)
    return out
