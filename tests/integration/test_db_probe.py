"""The readiness probe's own database connection (``store/probe.py``) on a real Postgres."""

from __future__ import annotations

import asyncio
import socket

import asyncpg

from ivr_engine.store.probe import DatabaseProbe


async def test_checks_share_one_probe_and_reuse_a_fresh_result(
    db_url: str, pool: asyncpg.Pool
) -> None:
    probe = DatabaseProbe(db_url, cache_seconds=60)
    try:
        results = await asyncio.gather(*(probe.check() for _ in range(20)))
        assert results == [True] * 20 and probe.checks == 1
        assert await probe.check() and probe.checks == 1  # answered from the last result
        # Its own connection, named in pg_stat_activity, not one of the pool's.
        names = await pool.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'ivr-engine probe' "
            "AND datname = current_database()"
        )
        assert len(names) == 1
    finally:
        await probe.close()


async def test_a_connection_the_server_dropped_is_replaced_within_the_check(
    db_url: str, pool: asyncpg.Pool
) -> None:
    results: list[bool] = []
    probe = DatabaseProbe(db_url, cache_seconds=0, on_result=results.append)
    try:
        assert await probe.check()
        sql = (
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'ivr-engine probe' "
            "AND datname = current_database()"
        )
        first = await pool.fetchval(sql)
        # Waits (up to 5 s) until the backend has exited.
        assert await pool.fetchval("SELECT pg_terminate_backend($1, 5000)", first)
        assert await probe.check()  # no false alarm for a connection the server closed
        assert results == [True, True] and probe.checks == 2
        assert await pool.fetchval(sql) not in (None, first)
    finally:
        await probe.close()


async def test_an_unreachable_server_is_down_within_the_timeout() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results: list[bool] = []
    probe = DatabaseProbe(
        f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=0.5, on_result=results.append
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert not await probe.check()
    assert loop.time() - started < 1.0 and results == [False]
    await probe.close()
