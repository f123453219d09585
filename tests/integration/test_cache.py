"""The configuration cache: read-through, dropped by LISTEN/NOTIFY on every change, negative
entries, and a listener that comes back after its connection is killed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.store.cache import ALL, APPLICATION_NAME, ConfigCache
from ivr_engine.store.loader import load_document

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
PIZZA, PAUSED, POCHA = "05051234567", "050712345678", "05059876543"


class Invalidations:
    """Collects invalidation keys and lets a test wait for one."""

    def __init__(self, cache: ConfigCache) -> None:
        self.keys: list[str] = []
        self._event = asyncio.Event()
        cache.add_invalidation_listener(self._on_key)

    def _on_key(self, key: str) -> None:
        self.keys.append(key)
        self._event.set()

    async def wait_for(self, key: str, within: float = 1.0) -> None:
        """Wait until ``key`` was received (within the 1-second promise by default)."""
        async with asyncio.timeout(within):
            while key not in self.keys:
                self._event.clear()
                await self._event.wait()


async def load_sample(pool: asyncpg.Pool, edit: object = None) -> None:
    data = load_yaml(SAMPLE.read_text(encoding="utf-8"))
    if callable(edit):
        edit(data)
    await load_document(pool, parse_document(data, "sample"), source="sample")


@pytest.fixture
async def cache(pool: asyncpg.Pool, db_url: str) -> AsyncIterator[ConfigCache]:
    await load_sample(pool)
    c = ConfigCache(pool, db_url, reconnect_delay=0.05)
    await c.start()
    try:
        yield c
    finally:
        await c.close()


async def test_reads_through_and_hits(cache: ConfigCache) -> None:
    first = await cache.get("0505-123-4567")
    assert first is not None and first.number == PIZZA
    assert cache.misses == 1 and cache.hits == 0
    assert await cache.get(PIZZA) is first
    assert cache.hits == 1
    assert cache.peek("0505-123-4567") is first


async def test_number_change_reaches_every_instance(
    cache: ConfigCache, pool: asyncpg.Pool, db_url: str
) -> None:
    other = ConfigCache(pool, db_url)
    await other.start()
    try:
        seen = [Invalidations(cache), Invalidations(other)]
        for c in (cache, other):
            assert "01099990000" in (await c.get(PIZZA)).block_list
        await load_sample(pool, lambda d: d["tenants"][0]["numbers"][0].update(block_list=[]))
        for c, inv in zip((cache, other), seen, strict=True):
            await inv.wait_for(f"n:{PIZZA}")
            assert c.peek(PIZZA) is None
            assert (await c.get(PIZZA)).block_list == frozenset()
    finally:
        await other.close()


async def test_tenant_change_drops_all_its_numbers(cache: ConfigCache, pool: asyncpg.Pool) -> None:
    inv = Invalidations(cache)
    for number in (PIZZA, PAUSED, POCHA):
        await cache.get(number)
    await load_sample(pool, lambda d: d["tenants"][0].update(name="강남피자 본점"))
    await inv.wait_for("t:gangnam-pizza")
    assert cache.peek(PIZZA) is None and cache.peek(PAUSED) is None
    assert cache.peek(POCHA) is not None  # another tenant's number stays
    assert (await cache.get(PAUSED)).tenant_name == "강남피자 본점"


async def test_unknown_number_is_cached_until_created(
    cache: ConfigCache, pool: asyncpg.Pool
) -> None:
    inv = Invalidations(cache)
    new = "05051110000"
    assert await cache.get(new) is None
    assert new in cache
    assert await cache.get(new) is None and cache.hits == 1

    def add(d: dict) -> None:
        d["tenants"][0]["numbers"].append({"number": "0505-111-0000"})

    await load_sample(pool, add)
    await inv.wait_for(f"n:{new}")
    assert new not in cache
    assert (await cache.get(new)).tenant_id == "gangnam-pizza"


async def test_preload_warms_every_number(cache: ConfigCache, pool: asyncpg.Pool) -> None:
    assert await cache.preload() == await pool.fetchval("SELECT count(*) FROM virtual_numbers")
    assert cache.peek(POCHA) is not None and cache.misses == 0


async def test_listener_comes_back_after_being_killed(
    cache: ConfigCache, pool: asyncpg.Pool
) -> None:
    inv = Invalidations(cache)
    await cache.get(PIZZA)
    killed = await pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )
    assert killed == 1
    await inv.wait_for(ALL, within=5)
    assert cache.peek(PIZZA) is None
    async with asyncio.timeout(5):
        await cache.wait_until_listening()
    assert cache.reconnects == 1
    await cache.get(PIZZA)
    assert cache.peek(PIZZA) is not None
    await load_sample(pool, lambda d: d["tenants"][0]["numbers"][0].update(label="본점"))
    await inv.wait_for(f"n:{PIZZA}")
    assert (await cache.get(PIZZA)).number == PIZZA and cache.peek(PIZZA) is not None
