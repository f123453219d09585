"""Planner latency with 100,000 numbers in the configuration cache, and the cache-miss path
against Postgres.

Uses DATABASE_URL's server (the role needs CREATEDB) or an embedded one in a temporary
directory; works in a database of its own, dropped at the end.
Aims: p99 under 50 us for a cached call plan, under 2 ms for a miss.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document, settings_to_data
from ivr_engine.domain.model import ConfigDocument
from ivr_engine.domain.planner import plan_call
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.embedded import start_server, with_database
from ivr_engine.store.loader import load_document
from ivr_engine.store.migrate import migrate
from ivr_engine.store.pool import connect, create_pool_for_url

NUMBERS = 100_000
CALLS = 100_000
MISSES = 3_000
SAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "sample-config.yaml"
SEOUL = ZoneInfo("Asia/Seoul")

FILL_TENANT = """
INSERT INTO tenants (id, name, timezone, settings) VALUES ('bench', 'bench', 'Asia/Seoul', $1)
"""
FILL_NUMBERS = """
INSERT INTO virtual_numbers (number, tenant_id, label, status, settings)
SELECT '0505' || lpad(i::text, 7, '0'), 'bench', '', 'active', $1::jsonb
FROM generate_series(0, $2 - 1) AS i
"""
FILL_TARGETS = """
INSERT INTO forward_targets (number, position, target, ring_seconds)
SELECT '0505' || lpad(i::text, 7, '0'), p, '010' || lpad((i * 2 + p)::text, 8, '0'), 20
FROM generate_series(0, $1 - 1) AS i, generate_series(0, 1) AS p
"""
FILL_LISTS = """
INSERT INTO caller_list_entries (number, list, caller)
SELECT '0505' || lpad(i::text, 7, '0'), 'block', '0109999' || lpad((i % 10000)::text, 4, '0')
FROM generate_series(0, $1 - 1) AS i
"""


def percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    """(p50, p99, max) in microseconds."""
    q = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return q[49] / 1000, q[98] / 1000, max(samples_ns) / 1000


def show(label: str, samples_ns: list[int], aim_us: float) -> None:
    """Print one figure line with its aim."""
    p50, p99, top = percentiles(samples_ns)
    verdict = "ok" if p99 < aim_us else "ABOVE AIM"
    print(
        f"{label:<44} n={len(samples_ns):>6}  p50 {p50:8.1f} us  p99 {p99:8.1f} us  "
        f"max {top:9.1f} us  (aim p99 < {aim_us:g} us: {verdict})"
    )


@asynccontextmanager
async def bench_database(doc: ConfigDocument | None = None) -> AsyncIterator[str]:
    """A fresh, migrated database for the run, with ``doc`` loaded when given; dropped (and
    the server stopped) after."""
    admin_url = os.environ.get("DATABASE_URL")
    tmp = server = None
    if not admin_url:
        tmp = Path(tempfile.mkdtemp(prefix="ivr-bench-pg-"))
        server = await asyncio.to_thread(start_server, tmp / "pg")
        admin_url = server.get_uri()
    name = f"ivr_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await connect(admin_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        url = with_database(admin_url, name)
        conn = await connect(url)
        await migrate(conn)
        if doc is not None:
            await load_document(conn, doc, source="<bench>")
        await conn.close()
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
        if server is not None:
            server.cleanup()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


async def fill(pool: asyncpg.Pool) -> list[str]:
    """100,000 numbers configured like the sample's 0505-123-4567; returns them."""
    doc = parse_document(load_yaml(SAMPLE.read_text(encoding="utf-8")), str(SAMPLE))
    tenant = doc.tenants[0]
    own = settings_to_data(tenant.numbers[0].settings)
    for key in ("targets", "block_list", "free_pass"):
        own.pop(key, None)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(FILL_TENANT, settings_to_data(tenant.defaults))
        await conn.execute(FILL_NUMBERS, own, NUMBERS)
        await conn.execute(FILL_TARGETS, NUMBERS)
        await conn.execute(FILL_LISTS, NUMBERS)
    return [f"0505{i:07d}" for i in range(NUMBERS)]


def bench_hits(cache: ConfigCache, numbers: list[str], seed: int = 7) -> list[int]:
    """peek + plan_call on cache hits, at random numbers, callers and times. The first
    plan of a number compiles its schedule: run once to see that, again for steady state."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 16, tzinfo=SEOUL)
    calls = [
        (
            rng.choice(numbers),
            f"010{rng.randrange(10**8):08d}",
            start + timedelta(minutes=rng.randrange(7 * 24 * 60)),
        )
        for _ in range(CALLS)
    ]
    samples = []
    clock = time.perf_counter_ns
    for number, caller, when in calls:
        t0 = clock()
        plan_call(cache.peek(number), caller, number, when)
        samples.append(clock() - t0)
    return samples


async def bench_get_hits(cache: ConfigCache, numbers: list[str]) -> list[int]:
    """``await get()`` on cache hits."""
    rng = random.Random(11)
    samples = []
    for number in (rng.choice(numbers) for _ in range(CALLS // 10)):
        t0 = time.perf_counter_ns()
        await cache.get(number)
        samples.append(time.perf_counter_ns() - t0)
    return samples


async def bench_misses(cache: ConfigCache, numbers: list[str]) -> list[int]:
    """``await get()`` of numbers not in the cache: one query and a resolve each."""
    cache.clear()
    samples = []
    for number in random.Random(3).sample(numbers, MISSES):
        t0 = time.perf_counter_ns()
        config = await cache.get(number)
        samples.append(time.perf_counter_ns() - t0)
        assert config is not None
    return samples


async def run() -> None:
    """Fill, preload, measure, print."""
    async with bench_database() as url:
        pool = await create_pool_for_url(url, min_size=2, max_size=4)
        try:
            t0 = time.perf_counter()
            numbers = await fill(pool)
            print(f"filled {len(numbers):,} numbers in {time.perf_counter() - t0:.1f} s")
            cache = ConfigCache(pool, url)
            await cache.start()
            try:
                t0 = time.perf_counter()
                loaded = await cache.preload()
                print(f"preloaded {loaded:,} configurations in {time.perf_counter() - t0:.1f} s")
                gc.collect()
                gc.freeze()  # long-lived cache entries out of the collector's way
                show("cache hit: peek + plan_call, first plans", bench_hits(cache, numbers), 50)
                for number in numbers:  # every number planned once, as after a day's calls
                    plan_call(cache.peek(number), "01020003000", number, datetime.now(SEOUL))
                show("cache hit: peek + plan_call, steady", bench_hits(cache, numbers, 8), 50)
                show("cache hit: await get()", await bench_get_hits(cache, numbers), 50)
                show("cache miss: await get() (Postgres)", await bench_misses(cache, numbers), 2000)
            finally:
                await cache.close()
        finally:
            await pool.close()


def main() -> None:
    """Entry point for ``python -m bench planner``."""
    asyncio.run(run())
