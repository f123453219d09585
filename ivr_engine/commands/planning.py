"""``ivr-engine plan`` (a dry run of one call, or a week) and ``ivr-engine check``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ivr_engine.app import open_database
from ivr_engine.commands.db import file_exists_near, read_document
from ivr_engine.commands.times import show_time
from ivr_engine.domain.checks import Finding, check_document
from ivr_engine.domain.model import ConfigDocument, NumberConfig
from ivr_engine.domain.numbers import format_number, normalize
from ivr_engine.domain.planner import CallPlan, plan_call
from ivr_engine.domain.render import format_plan, format_week
from ivr_engine.domain.timeline import week_timeline
from ivr_engine.errors import ConfigError, DatabaseUnavailable, NotFoundError, ValidationError
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.config_repo import (
    export_document,
    fetch_number_config,
    fetch_virtual_numbers,
)


def parse_at(text: str, tz: ZoneInfo) -> datetime:
    """An ISO time; one without an offset is read in ``tz`` (the number's tenant zone)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not an ISO time such as 2026-11-20T12:00", "--at"
        ) from None
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


async def number_config(settings: Settings, number: str) -> NumberConfig | None:
    """The stored configuration of one number (None when the database does not know it)."""
    digits = normalize(number)
    async with open_database(settings) as db:
        return await fetch_number_config(db.pool, digits)


async def plan_command(
    settings: Settings, number: str, caller: str, at: str | None
) -> tuple[CallPlan, datetime]:
    """The plan for one call to ``number`` from ``caller`` at ``at`` (default: now), and
    that moment in the number's tenant zone."""
    config = await number_config(settings, number)
    tz = ZoneInfo(config.timezone) if config else settings.tz
    when = parse_at(at, tz) if at else datetime.now(tz)
    return plan_call(config, caller, number, when), when.astimezone(tz)


def plan_json(plan: CallPlan, when: datetime) -> dict[str, Any]:
    """``plan --json``: the plan, with the moment it was made for."""
    return {"at": when.isoformat(), **plan.to_json()}


async def week_command(
    settings: Settings, number: str, start: date | None, *, as_json: bool = False
) -> str:
    """A week of the number from ``start`` (default: today in its zone): a readable
    timeline, or with ``as_json`` one JSON object with every period."""
    config = await number_config(settings, number)
    if config is None:
        raise NotFoundError(f"{format_number(normalize(number))} is not a virtual number")
    start = start or datetime.now(ZoneInfo(config.timezone)).date()
    periods = week_timeline(config, start)
    if not as_json:
        return format_week(config, periods)
    doc = {
        "number": format_number(config.number),
        "tenant": config.tenant_id,
        "timezone": config.timezone,
        "status": config.status.value,
        "config_version": config.version,
        "from": start.isoformat(),
        "periods": [p.to_json() for p in periods],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


async def _db_numbers(settings: Settings) -> frozenset[str] | None:
    """Every virtual number in the database, or None when it cannot be reached."""
    if not settings.database_url and not (Path(settings.data_dir) / "pg").exists():
        return None
    try:
        async with open_database(settings, max_size=1) as db:
            return await fetch_virtual_numbers(db.pool)
    except (DatabaseUnavailable, ConfigError) as exc:
        print(f"note: database not used for the checks: {exc}", file=sys.stderr)
        return None


async def check_command(settings: Settings, file: str | None) -> list[Finding]:
    """Findings for a file (against the database's other numbers when reachable) or for
    what the database holds."""
    today = datetime.now(settings.tz).date()
    sounds = Path(settings.prompts.sounds_dir)
    if file is None:
        async with open_database(settings) as db:
            doc: ConfigDocument = await export_document(db.pool)
        return check_document(doc, today=today, file_exists=file_exists_near(Path.cwd(), sounds))
    doc = read_document(file)
    base = await asyncio.to_thread(lambda: Path(file).resolve().parent)
    own = {e.number for t in doc.tenants for e in t.numbers}
    others = await _db_numbers(settings) or frozenset()
    return check_document(
        doc,
        today=today,
        file_exists=file_exists_near(base, sounds),
        other_virtual_numbers=frozenset(others - own),
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not a date such as 2026-11-23", "--from") from None


def _plan(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.week:
        start = _date(args.start) if args.start else None
        print(asyncio.run(week_command(settings, args.number, start, as_json=args.json)))
        return 0
    if not args.caller:
        raise ValidationError("give --caller (or --week)", "plan")
    plan, when = asyncio.run(plan_command(settings, args.number, args.caller, args.at))
    if args.json:
        print(json.dumps(plan_json(plan, when), ensure_ascii=False, indent=2))
    else:
        print(f"at {show_time(when, when.tzinfo or settings.tz)}")
        print(format_plan(plan))
    return 0


def _check(args: argparse.Namespace) -> int:
    findings = asyncio.run(check_command(load_settings(args.config), args.file))
    for f in findings:
        print(f"{f.severity}: {f.path}: {f.message}" if f.path else f"{f.severity}: {f.message}")
    errors = sum(1 for f in findings if str(f.severity) == "error")
    print(f"{len(findings)} finding(s), {errors} error(s)")
    return 1 if errors else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan`` and ``check``."""
    p = subparsers.add_parser("plan", help="dry run: what a call does, or a week's timeline")
    p.add_argument("--number", required=True, help="the virtual number")
    p.add_argument("--caller", help="the calling number (or 'anonymous')")
    p.add_argument(
        "--at", help="ISO time; without an offset, in the number's time zone (default: now)"
    )
    p.add_argument("--json", action="store_true", help="print the plan (or the week) as JSON")
    p.add_argument("--week", action="store_true", help="print a week's timeline")
    p.add_argument("--from", dest="start", help="first day of the week (default: today)")
    p.set_defaults(func=_plan)
    p = subparsers.add_parser("check", help="static checks of a configuration file or the DB")
    p.add_argument("file", nargs="?", help="YAML file (default: what the database holds)")
    p.set_defaults(func=_check)
