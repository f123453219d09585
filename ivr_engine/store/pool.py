"""asyncpg connections: the database URL from settings, a pool with a jsonb codec."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from ivr_engine.errors import DatabaseUnavailable
from ivr_engine.settings import Settings
from ivr_engine.store.embedded import embedded_url


def database_url(settings: Settings) -> str:
    """``settings.database_url`` when set, else the embedded server's URL (started here)."""
    return settings.database_url or embedded_url(settings.data_dir)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Decode and encode jsonb/json as Python objects on every connection."""
    for name in ("jsonb", "json"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(url: str, **kwargs: Any) -> asyncpg.Connection:
    """One connection with the codecs; DatabaseUnavailable when the server cannot be reached."""
    try:
        conn = await asyncpg.connect(url, **kwargs)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    await init_connection(conn)
    return conn


async def create_pool_for_url(
    url: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """A pool on ``url`` whose connections all have the jsonb codec."""
    try:
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, init=init_connection, **kwargs
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    assert pool is not None
    return pool


async def create_pool(settings: Settings, **kwargs: Any) -> asyncpg.Pool:
    """The engine's pool: DATABASE_URL's server, or the embedded one when unset."""
    return await create_pool_for_url(database_url(settings), **kwargs)
