"""``ivr-engine migrate`` and ``ivr-engine load FILE``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from ivr_engine.app import migrate_database, open_database, resolve_database_url
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.model import ConfigDocument, ForwardTarget
from ivr_engine.domain.numbers import format_number
from ivr_engine.errors import ConfigError, IvrError
from ivr_engine.prompts.build import BuildJob, pending_jobs, plan_jobs
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.prompts.names import engine_for
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.loader import LoadReport, load_document


def read_document(path: str | Path) -> ConfigDocument:
    """Read and validate a YAML configuration; errors name the file and the path in it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
    return parse_document(data, str(path))


def file_exists_near(base: Path, sounds_dir: Path) -> Callable[[str], bool]:
    """An audio-file test: an absolute path, or relative to the config file or sounds dir
    (an Asterisk sound name may omit its extension)."""

    def exists(name: str) -> bool:
        path = Path(name)
        if path.is_absolute():
            return path.exists()
        for root in (base, sounds_dir):
            if (root / path).exists() or any((root / path.parent).glob(f"{path.name}.*")):
                return True
        return False

    return exists


async def migrate_command(settings: Settings) -> list[str]:
    """Apply the pending migrations; returns their names."""
    return await migrate_database(await resolve_database_url(settings))


async def load_command(
    settings: Settings, path: str, *, force_targets: bool = False, dry_run: bool = False
) -> LoadReport:
    """Import one YAML file into the (migrated) database; ``dry_run`` rolls it back."""
    doc = read_document(path)
    base = await asyncio.to_thread(lambda: Path(path).resolve().parent)
    exists = file_exists_near(base, Path(settings.prompts.sounds_dir))
    async with open_database(settings) as db:
        return await load_document(
            db.pool,
            doc,
            source=str(path),
            force_targets=force_targets,
            file_exists=exists,
            dry_run=dry_run,
        )


def prompts_to_build(settings: Settings, path: str) -> list[BuildJob]:
    """The file's prompts that ``ivr-engine prompts build`` would have to build (missing
    or out of date in the sounds directory), with the engine and voice of the settings."""
    ps = settings.prompts
    doc = read_document(path)
    engine = engine_for(ps.engine, ps.gtts_enabled)
    jobs, _refused = plan_jobs(iter_prompts(doc), ps.voice, engine, Path(path).parent)
    return pending_jobs(jobs, Path(ps.sounds_dir))


def _targets(targets: tuple[ForwardTarget, ...]) -> str:
    return ", ".join(f"{format_number(t.number)} ({t.ring_seconds} s)" for t in targets) or "none"


def dry_run_lines(report: LoadReport, prompts: list[BuildJob]) -> list[str]:
    """What a load would do, for ``load --dry-run``: the summary, each number created or
    updated, each target change old -> new, the prompts to build, the findings."""
    out = [f"dry run: {report.lines()[0]}"]
    out += [f"  tenant {t}: would be created" for t in report.tenants_created]
    out += [f"  tenant {t}: would be updated" for t in report.tenants_updated]
    out += [f"  {format_number(n)}: would be created" for n in report.numbers_created]
    out += [f"  {format_number(n)}: would be updated" for n in report.numbers_updated]
    for number, change in report.target_changes:
        forced = " (forced)" if change.forced else ""
        out.append(
            f"  forward targets of {format_number(number)}: {change.kind}{forced}: "
            f"{_targets(change.old)} -> {_targets(change.new)}"
        )
    for tenant, number in report.left_alone:
        out.append(
            f"  {format_number(number)} of tenant {tenant} is not in the file: left unchanged"
        )
    out.append(f"  {len(prompts)} prompt(s) to build with ivr-engine prompts build")
    for job in prompts:
        what = job.text if job.kind == "tts" else job.source_label
        out.append(f"    {job.name}: {what} ({job.where[0]})" if job.where else f"    {job.name}")
    out += [f"  {w}" for w in report.warnings]
    out.append("dry run: nothing was written")
    return out


def _migrate(args: argparse.Namespace) -> int:
    applied = asyncio.run(migrate_command(load_settings(args.config)))
    for name in applied:
        print(f"applied {name}")
    if not applied:
        print("database schema is up to date")
    return 0


def _load(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.dry_run:
        return _dry_run(args, settings)
    report = asyncio.run(load_command(settings, args.file, force_targets=args.force_targets))
    print("\n".join(report.lines()))
    return 0


def _dry_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the load, roll it back and print what it would have done; 1 if it is refused."""
    try:
        report = asyncio.run(
            load_command(settings, args.file, force_targets=args.force_targets, dry_run=True)
        )
    except IvrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("dry run: the load would be refused; nothing was written")
        return 1
    print("\n".join(dry_run_lines(report, prompts_to_build(settings, args.file))))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``migrate`` and ``load``."""
    p = subparsers.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(func=_migrate)
    p = subparsers.add_parser("load", help="import a YAML configuration (idempotent)")
    p.add_argument("file", help="configuration file, e.g. deploy/sample-config.yaml")
    p.add_argument(
        "--force-targets",
        action="store_true",
        help="apply forward target changes even within 24 hours of the last one",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show what the load would change (numbers, targets, prompts, findings); "
        "nothing is written",
    )
    p.set_defaults(func=_load)
