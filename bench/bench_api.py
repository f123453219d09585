"""The records search of the admin API over 1,000,000 call records: request rate and p50 /
p99 latency of ``GET /api/v1/calls`` pages of 50 with filters, through the real HTTP server
(its own process) with a bearer token, as a tenant owner and as the platform admin.

The records (COPY, 100,000 rows a batch) are spread over 20 tenants of 100 numbers each,
200,000 callers and 90 days, with dispositions in the proportions of a real service; one
tenant takes a quarter of all calls (the large customer every platform has).

Uses DATABASE_URL's server (the role needs CREATEDB) or an embedded one; its own database,
dropped at the end. Aim: p99 < 100 ms for a page of 50 with filters.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.bench_planner import bench_database
from ivr_engine.commands.users import add_user, create_token
from ivr_engine.store.pool import create_pool_for_url

RECORDS = 1_000_000
BATCH = 100_000
TENANTS = 20
NUMBERS_PER_TENANT = 100
CALLERS = 200_000
DAYS = 90
REQUESTS = 1500  # per scenario
CONCURRENCY = 8
END = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # midnight in Seoul
DISPOSITIONS = (
    ("ANSWERED", 65),
    ("NO_ANSWER", 12),
    ("ABANDONED", 7),
    ("CLOSED", 7),
    ("BUSY", 6),
    ("BLOCKED", 2),
    ("FAILED", 1),
)
COLUMNS = (
    "call_id", "uniqueid", "linkedid", "tenant_id", "number", "caller", "caller_raw",
    "start_time", "ring_time", "answer_time", "connect_time", "end_time", "ring_seconds",
    "billsec", "duration", "disposition", "closed_state", "asterisk_disposition",
    "answered_target", "hangup_by", "hangup_cause", "plan_state", "node",
)  # fmt: skip


def tenant_of(i: int) -> int:
    """Tenant 0 takes a quarter of the calls, the others share the rest."""
    return 0 if i % 4 == 0 else 1 + i % (TENANTS - 1)


def number_of(tenant: int, k: int) -> str:
    """The k-th number of a tenant (national digits)."""
    return f"0505{tenant:03d}{k:04d}"


def rows(start: int, count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """``count`` call records from the ``start``-th on, as COPY rows."""
    names = [d for d, _ in DISPOSITIONS]
    weights = [w for _, w in DISPOSITIONS]
    span = DAYS * 86400
    for i in range(start, start + count):
        t = tenant_of(i)
        number = number_of(t, rng.randrange(NUMBERS_PER_TENANT))
        caller = f"010{rng.randrange(CALLERS):08d}"
        begin = END - timedelta(seconds=rng.random() * span)
        d = rng.choices(names, weights)[0]
        answered = d == "ANSWERED"
        rang = d in ("ANSWERED", "NO_ANSWER", "ABANDONED", "BUSY")
        ring = rng.uniform(1, 20) if rang else 0.0
        talk = rng.randrange(5, 600) if answered else 0
        connect = begin + timedelta(seconds=1 + ring) if answered else None
        end = (connect or begin + timedelta(seconds=1 + ring)) + timedelta(seconds=talk)
        call_id = f"{1700000000 + i}.{i % 1000}"
        yield (
            call_id, call_id, call_id, f"t{t:02d}", number, caller, caller, begin,
            begin + timedelta(seconds=1) if rang else None, connect, connect, end, ring, talk,
            int((end - begin).total_seconds()), d, "after_hours" if d == "CLOSED" else None,
            "ANSWERED" if answered else ("BUSY" if d == "BUSY" else "NO ANSWER"),
            "01011112222" if answered else None, "caller", 16, "open", "bench",
        )  # fmt: skip


async def load(url: str) -> tuple[str, str, list[str], list[str]]:
    """Tenants, numbers, 1,000,000 records, an owner of t00 and an admin with tokens;
    returns the tokens, t00's numbers and some of its callers."""
    pool = await create_pool_for_url(url, max_size=2)
    try:
        await pool.execute(
            "INSERT INTO tenants (id, name) SELECT 't' || lpad(g::text, 2, '0'), 'tenant ' || g "
            "FROM generate_series(0, $1 - 1) g",
            TENANTS,
        )
        numbers = [
            (number_of(t, k), f"t{t:02d}")
            for t in range(TENANTS)
            for k in range(NUMBERS_PER_TENANT)
        ]
        await pool.executemany(
            "INSERT INTO virtual_numbers (number, tenant_id) VALUES ($1, $2)", numbers
        )
        rng = random.Random(11)
        t0 = time.perf_counter()
        async with pool.acquire() as conn:
            for start in range(0, RECORDS, BATCH):
                await conn.copy_records_to_table(
                    "call_records", records=list(rows(start, BATCH, rng)), columns=COLUMNS
                )
            await conn.execute("ANALYZE call_records")
            callers = [
                r["caller"]
                for r in await conn.fetch(
                    "SELECT caller FROM call_records WHERE tenant_id = 't00' LIMIT 500"
                )
            ]
        elapsed = time.perf_counter() - t0
        print(f"loaded {RECORDS:,} records (COPY) in {elapsed:.1f} s = {RECORDS / elapsed:,.0f}/s")
        await add_user(pool, "owner@t00.kr", "tenant-owner", "bench password 1", tenant="t00")
        await add_user(pool, "root@bench.kr", "platform-admin", "bench password 2")
        owner, _ = await create_token(pool, "owner@t00.kr", "bench", ("read",))
        admin, _ = await create_token(pool, "root@bench.kr", "bench", ("read",))
    finally:
        await pool.close()
    t00 = [number_of(0, k) for k in range(NUMBERS_PER_TENANT)]
    return owner, admin, t00, callers


def serve(url: str, ready: Any) -> None:
    """The API's HTTP server, in a process of its own (as the engine serves it)."""
    from aiohttp import web

    from ivr_engine.api.app import MOUNT, build_api
    from ivr_engine.api.context import ApiContext
    from ivr_engine.event_loop import run as run_loop

    async def main() -> None:
        pool = await create_pool_for_url(url, min_size=4, max_size=10)
        app = web.Application()
        app.add_subapp(MOUNT, build_api(ApiContext(pool)))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    run_loop(main())


Query = Callable[[random.Random], str]


def scenarios(t00: list[str], callers: list[str]) -> list[tuple[str, str, Query]]:
    """(label, token, query) of each measured request kind."""

    def week(rng: random.Random) -> str:
        day = END - timedelta(days=rng.randrange(7, DAYS))
        start = quote((day - timedelta(days=7)).isoformat())
        return f"from={start}&to={quote(day.isoformat())}"

    return [
        ("tenant only (newest 50)", "owner", lambda rng: ""),
        ("number + 7-day range", "owner", lambda rng: f"number={rng.choice(t00)}&{week(rng)}"),
        ("caller", "owner", lambda rng: f"caller={rng.choice(callers)}"),
        ("disposition NO_ANSWER,BUSY", "owner", lambda rng: "disposition=NO_ANSWER,BUSY"),
        ("disposition BLOCKED + 7 days", "owner", lambda rng: f"disposition=BLOCKED&{week(rng)}"),
        ("number, second page (cursor)", "owner", lambda rng: f"number={rng.choice(t00)}"),
        ("admin: all tenants, ANSWERED", "admin", lambda rng: "disposition=ANSWERED"),
    ]


async def _measure(base: str, token: str, query: Query, label: str) -> tuple[float, float, float]:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    rng = random.Random(label)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as http:
        second: list[str] = []  # first pages' queries with their next_cursor
        if "cursor" in label:
            for _ in range(100):
                q = query(rng)
                async with http.get(f"/api/v1/calls?{q}") as r:
                    second.append(f"{q}&cursor={(await r.json())['next_cursor']}")

        async def worker(n: int) -> None:
            for _ in range(n):
                path = "/api/v1/calls?" + (rng.choice(second) if second else query(rng))
                t = time.perf_counter()
                async with http.get(path) as resp:
                    body = await resp.read()
                    assert resp.status == 200, body[:200]
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(REQUESTS // CONCURRENCY) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - t0
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


async def run() -> None:
    """Load, serve, measure each scenario and print the verdict."""
    async with bench_database() as url:
        owner, admin, t00, callers = await load(url)
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Queue()
        server = ctx.Process(target=serve, args=(url, ready), daemon=True)
        server.start()
        try:
            port = await asyncio.to_thread(ready.get, True, 60)
            base = f"http://127.0.0.1:{port}"
            tokens = {"owner": owner, "admin": admin}
            worst = 0.0
            print(
                f"GET /api/v1/calls, pages of 50, {REQUESTS:,} requests per kind, "
                f"{CONCURRENCY} concurrent, bearer token, server in its own process:"
            )
            for label, who, query in scenarios(t00, callers):
                rate, p50, p99 = await _measure(base, tokens[who], query, label)
                worst = max(worst, p99)
                print(f"  {label:<30} {rate:7,.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
        finally:
            server.terminate()
            server.join(10)
    load1 = os.getloadavg()[0]
    print(
        f"worst p99 {worst:.1f} ms (aim < 100 ms: {'ok' if worst < 100 else 'ABOVE AIM'}); "
        f"load average {load1:.1f} on {os.cpu_count()} CPUs"
    )


def main() -> None:
    """Entry point for ``python -m bench api``."""
    asyncio.run(run())
