"""``ivr-engine run``: the quick start on embedded defaults.

Starts the embedded PostgreSQL (or uses DATABASE_URL), migrates, loads the configuration
file, builds its prompts, prints a week of dry runs for every number, then serves calls on
the built-in Asterisk simulator (or the configured Asterisk), places one scripted demo call
per flow with a readable trace of each, and keeps serving until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr_engine import event_loop
from ivr_engine.app import open_database
from ivr_engine.commands.db import file_exists_near, read_document
from ivr_engine.commands.serve import serve_until_stopped
from ivr_engine.demo import run_demo
from ivr_engine.domain.render import format_week
from ivr_engine.domain.timeline import week_timeline
from ivr_engine.prompts.build import build_sounds, plan_jobs, system_jobs
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.prompts.names import engine_for
from ivr_engine.service import RunningEngine
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.config_repo import fetch_all_number_configs
from ivr_engine.store.loader import load_document


def _where(settings: Settings) -> str:
    if settings.database_url:
        return "PostgreSQL at DATABASE_URL"
    return f"embedded PostgreSQL in {Path(settings.data_dir).expanduser() / 'pg'}"


def build_prompts(settings: Settings) -> str:
    """Build the configuration's prompts (and any missing system prompt); a summary line."""
    ps = settings.prompts
    engine = engine_for(ps.engine, ps.gtts_enabled)
    path = Path(settings.config_file)
    jobs, refused = plan_jobs(iter_prompts(read_document(path)), ps.voice, engine, path.parent)
    report = build_sounds(system_jobs(ps.voice, engine) + jobs, Path(ps.sounds_dir), engine=engine)
    report.results[:0] = refused
    return report.summary()


async def run_command(settings: Settings, *, week: bool = True) -> list[str]:
    """Set up the database, the configuration and its prompts; return the lines to print
    (with a week of dry runs for every number)."""
    out = [f"database: {_where(settings)}"]
    doc = read_document(settings.config_file)
    async with open_database(settings, migrate=True) as db:
        out += [f"applied migration {name}" for name in db.migrations_applied]
        base = await asyncio.to_thread(lambda: Path(settings.config_file).resolve().parent)
        exists = file_exists_near(base, Path(settings.prompts.sounds_dir))
        report = await load_document(db.pool, doc, source=settings.config_file, file_exists=exists)
        out += report.lines()
        out.append(await asyncio.to_thread(build_prompts, settings))
        if week:
            for config in await fetch_all_number_configs(db.pool):
                start = datetime.now(ZoneInfo(config.timezone)).date()
                out.append("")
                out.append(format_week(config, week_timeline(config, start)))
    return out


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    for line in await run_command(settings, week=not args.no_week):
        print(line, flush=True)

    async def demo(engine: RunningEngine) -> None:
        if args.no_demo or engine.sim is None:
            return
        await run_demo(engine, out=lambda text: print(text, flush=True))
        print("\ndemo done; still serving calls (Ctrl-C to stop)", flush=True)
        if args.exit_after_demo:
            raise SystemExit(0)

    await serve_until_stopped(settings, sim_speed=args.speed, drain_timeout=5.0, started=demo)


def _main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        event_loop.run(_run(settings, args), settings.event_loop)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    p = subparsers.add_parser(
        "run",
        help="set up and start the engine on embedded defaults, "
        "with demo calls on the built-in simulator",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=10.0,
        help="built-in simulator speed (simulated seconds per wall second)",
    )
    p.add_argument("--no-demo", action="store_true", help="serve without the demo calls")
    p.add_argument("--no-week", action="store_true", help="skip the week of dry runs")
    p.add_argument(
        "--exit-after-demo",
        action="store_true",
        help="stop once the demo calls are done (for scripted checks)",
    )
    p.set_defaults(func=_main)
