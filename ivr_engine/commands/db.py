"""``ivr-engine migrate`` and ``ivr-engine load FILE``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

import yaml

from ivr_engine.app import migrate_database, open_database, resolve_database_url
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.model import ConfigDocument
from ivr_engine.errors import ConfigError
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


async def load_command(settings: Settings, path: str, *, force_targets: bool = False) -> LoadReport:
    """Import one YAML file into the (migrated) database."""
    doc = read_document(path)
    base = await asyncio.to_thread(lambda: Path(path).resolve().parent)
    exists = file_exists_near(base, Path(settings.prompts.sounds_dir))
    async with open_database(settings) as db:
        return await load_document(
            db.pool, doc, source=str(path), force_targets=force_targets, file_exists=exists
        )


def _migrate(args: argparse.Namespace) -> int:
    applied = asyncio.run(migrate_command(load_settings(args.config)))
    for name in applied:
        print(f"applied {name}")
    if not applied:
        print("database schema is up to date")
    return 0


def _load(args: argparse.Namespace) -> int:
    report = asyncio.run(
        load_command(load_settings(args.config), args.file, force_targets=args.force_targets)
    )
    print("\n".join(report.lines()))
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
    p.set_defaults(func=_load)
