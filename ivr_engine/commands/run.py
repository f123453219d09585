"""``ivr-engine run``: start on embedded defaults (or DATABASE_URL), migrate, load the
configuration file and print a week of dry runs for every number."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr_engine.app import open_database
from ivr_engine.commands.db import read_document
from ivr_engine.domain.render import format_week
from ivr_engine.domain.timeline import week_timeline
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.config_repo import fetch_all_number_configs
from ivr_engine.store.loader import load_document


def _where(settings: Settings) -> str:
    if settings.database_url:
        return "PostgreSQL at DATABASE_URL"
    return f"embedded PostgreSQL in {Path(settings.data_dir).expanduser() / 'pg'}"


async def run_command(settings: Settings) -> list[str]:
    """Set up the database and the configuration; return the dry-run output lines."""
    out = [f"database: {_where(settings)}"]
    doc = read_document(settings.config_file)
    async with open_database(settings, migrate=True) as db:
        out += [f"applied migration {name}" for name in db.migrations_applied]
        report = await load_document(db.pool, doc, source=settings.config_file)
        out += report.lines()
        for config in await fetch_all_number_configs(db.pool):
            start = datetime.now(ZoneInfo(config.timezone)).date()
            out.append("")
            out.append(format_week(config, week_timeline(config, start)))
    return out


def _run(args: argparse.Namespace) -> int:
    for line in asyncio.run(run_command(load_settings(args.config))):
        print(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``run``."""
    p = subparsers.add_parser("run", help="set up and start the engine on embedded defaults")
    p.set_defaults(func=_run)
