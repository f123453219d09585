"""The store's repositories on a real Postgres: what they raise when the database goes away
or a statement fails (the engine's errors, never the driver's), and that domain errors
pass through."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from ivr_engine.errors import DatabaseError, DatabaseUnavailable, ValidationError
from ivr_engine.store.pool import create_pool_for_url
from ivr_engine.store.repos import PgAgentRepo, PgCallbackRepo, PgQueueRepo
from tests.support.tcp_proxy import database_proxy

NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)


async def test_an_outage_is_database_unavailable_and_passes(db_url: str) -> None:
    async with database_proxy(db_url) as (proxy, url):
        pool = await create_pool_for_url(url, min_size=1, max_size=2, timeout=5)
        try:
            repo = PgQueueRepo(pool)
            assert await repo.live_queues(now=NOW) == []
            proxy.refuse = True
            assert await proxy.cut() >= 1
            with pytest.raises(DatabaseUnavailable) as caught:
                await repo.live_queues(now=NOW)
            assert not isinstance(caught.value.__cause__, DatabaseError)  # the driver's error
            with pytest.raises(DatabaseUnavailable):  # new connections are refused too
                await PgAgentRepo(pool).release_wrapups(now=NOW)
            proxy.refuse = False
            assert await repo.agent_state_counts() == []
        finally:
            pool.terminate()


async def test_a_failed_statement_is_a_database_error(pool: asyncpg.Pool) -> None:
    await pool.execute("ALTER TABLE queue_calls RENAME TO queue_calls_moved")
    with pytest.raises(DatabaseError) as caught:
        await PgQueueRepo(pool).heartbeat(1, now=NOW)
    assert not isinstance(caught.value, DatabaseUnavailable)
    assert isinstance(caught.value.__cause__, asyncpg.UndefinedTableError)


async def test_domain_errors_pass_through(pool: asyncpg.Pool) -> None:
    with pytest.raises(ValidationError, match="anonymous"):
        await PgCallbackRepo(pool).register(
            tenant_id="t", number="05051234567", caller="anonymous", source="menu"
        )
