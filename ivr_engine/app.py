"""Wiring: settings -> database (embedded or DATABASE_URL) -> pool -> configuration cache.

Only this module puts the parts together; commands and the engine open what they need
through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from ivr_engine.errors import ConfigError
from ivr_engine.settings import Settings
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.migrate import applied_migrations, load_migrations
from ivr_engine.store.migrate import migrate as apply_migrations
from ivr_engine.store.pool import connect, create_pool_for_url, database_url


@dataclass(frozen=True)
class Database:
    """An open database: its URL (for dedicated connections) and the shared pool."""

    url: str
    pool: asyncpg.Pool
    migrations_applied: tuple[str, ...] = ()


async def resolve_database_url(settings: Settings) -> str:
    """The database URL, starting the embedded server (off the event loop) when needed."""
    return await asyncio.to_thread(database_url, settings)


async def migrate_database(url: str) -> list[str]:
    """Apply pending migrations on ``url``; returns the names applied now."""
    conn = await connect(url)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()


async def ensure_migrated(pool: asyncpg.Pool) -> None:
    """Raise ConfigError saying to run ``ivr-engine migrate`` when the schema is behind."""
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            raise ConfigError("the database has no schema yet: run `ivr-engine migrate`")
        done = await applied_migrations(conn)
    pending = [m.name for m in load_migrations() if m.name not in done]
    if pending:
        raise ConfigError(
            f"{len(pending)} migration(s) pending ({', '.join(pending)}): run `ivr-engine migrate`"
        )


@asynccontextmanager
async def open_database(
    settings: Settings, *, migrate: bool = False, max_size: int = 10
) -> AsyncIterator[Database]:
    """Open the configured database; migrate it first when asked, else require it migrated."""
    url = await resolve_database_url(settings)
    applied = await migrate_database(url) if migrate else []
    pool = await create_pool_for_url(url, min_size=1, max_size=max_size)
    try:
        if not migrate:
            await ensure_migrated(pool)
        yield Database(url, pool, tuple(applied))
    finally:
        await pool.close()


@asynccontextmanager
async def open_config_cache(db: Database) -> AsyncIterator[ConfigCache]:
    """A started configuration cache on ``db``, closed on exit."""
    cache = ConfigCache(db.pool, db.url)
    await cache.start()
    try:
        yield cache
    finally:
        await cache.close()
