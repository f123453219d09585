"""Schema migrations: numbered SQL files in ``sql/migrations`` applied in order.

Each file runs in its own transaction and is recorded in ``schema_migrations`` with its
checksum. Running again applies only what is missing; an applied file whose checksum
changed is refused. A session advisory lock makes concurrent runs safe.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from ivr_engine.errors import IvrError
from ivr_engine.store.paths import sql_dir

log = logging.getLogger(__name__)

LOCK_KEY = 0x1_7E_0001  # pg_advisory_lock key shared by every migrate run

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(IvrError):
    """The migrations on disk disagree with what the database recorded."""

    code = "migration-error"


@dataclass(frozen=True)
class Migration:
    """One migration file: its name (``0001_init.sql``), SQL text and sha256 checksum."""

    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text: an applied migration must never change."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Every ``NNNN_*.sql`` file of the migrations directory, in order."""
    directory = directory or sql_dir() / "migrations"
    files = sorted(p for p in directory.glob("*.sql") if p.name[:4].isdigit())
    return [Migration(p.name, p.read_text(encoding="utf-8")) for p in files]


async def applied_migrations(conn: asyncpg.Connection) -> dict[str, str]:
    """name -> checksum of the migrations recorded in the database."""
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY name")
    return {r["name"]: r["checksum"] for r in rows}


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the missing migrations; return the names applied now (empty when up to date)."""
    migrations = load_migrations() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(CREATE_TABLE)
        done = await applied_migrations(conn)
        applied: list[str] = []
        for migration in migrations:
            recorded = done.get(migration.name)
            if recorded is not None:
                if recorded != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.name} was changed after it was applied "
                        "(checksum differs); add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %s", migration.name)
            applied.append(migration.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
