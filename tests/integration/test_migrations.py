"""Migrations: applied in order, recorded, safe to repeat and to run concurrently, and
equal to sql/schema.sql."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from ivr_engine.store.migrate import MigrationError, load_migrations, migrate
from ivr_engine.store.paths import sql_dir
from ivr_engine.store.pool import connect

CATALOG = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'v', 'm', 'p')""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal""",
    "functions": """
        SELECT proname, pg_get_function_identity_arguments(oid), pg_get_functiondef(oid)
        FROM pg_proc WHERE pronamespace = 'public'::regnamespace""",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by
        FROM pg_sequences WHERE schemaname = 'public'""",
}


async def catalog(url: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await connect(url)
    try:
        return {k: sorted(tuple(r) for r in await conn.fetch(q)) for k, q in CATALOG.items()}
    finally:
        await conn.close()


async def test_migrations_equal_schema_sql(db_url: str, empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        await conn.execute((sql_dir() / "schema.sql").read_text(encoding="utf-8"))
    finally:
        await conn.close()
    migrated, declared = await catalog(db_url), await catalog(empty_db_url)
    assert migrated["columns"], "the migrated database has no tables"
    for part in CATALOG:
        assert migrated[part] == declared[part], part


async def test_migrate_applies_once_and_records(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        names = [m.name for m in load_migrations()]
        assert await migrate(conn) == names
        assert await migrate(conn) == []
        rows = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY name")
        assert [(r["name"], r["checksum"]) for r in rows] == [
            (m.name, m.checksum) for m in load_migrations()
        ]
    finally:
        await conn.close()


async def test_changed_migration_is_refused(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        await migrate(conn)
        changed = [dataclasses.replace(m, sql=m.sql + "\n-- edited") for m in load_migrations()]
        with pytest.raises(MigrationError, match=r"0001_init\.sql was changed"):
            await migrate(conn, changed)
    finally:
        await conn.close()


async def test_failed_migration_is_rolled_back(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        good = load_migrations()
        bad = [
            *good,
            dataclasses.replace(
                good[0], name="9999_bad.sql", sql="CREATE TABLE half (x int); SELECT 1/0;"
            ),
        ]
        with pytest.raises(Exception, match="division by zero"):
            await migrate(conn, bad)
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(good)
    finally:
        await conn.close()


async def test_concurrent_migrate_is_safe(empty_db_url: str) -> None:
    conns = [await connect(empty_db_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(load_migrations())]
    finally:
        for c in conns:
            await c.close()
