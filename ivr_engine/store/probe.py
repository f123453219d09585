"""The database health probe: ``SELECT 1`` on a connection of its own.

Never on the shared pool: under call traffic every pooled connection may be busy, and a
probe queued behind them times out while PostgreSQL is fine. One connection, opened on the
first check and again after a failure; checks never overlap (a check asked for while one
runs shares it), and a result is reused for ``cache_seconds``, so a load balancer polling
``/readyz`` often costs one query a second at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

PROBE_SETTINGS = {"application_name": "ivr-engine probe"}  # visible in pg_stat_activity


class DatabaseProbe:
    """Checks that PostgreSQL answers, on its own connection (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        cache_seconds: float = 1.0,
        on_result: Callable[[bool], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.on_result = on_result  # called with each probe's result (not reused ones)
        self.last: bool | None = None  # the last result
        self.checks = 0  # probes actually run (not answered from the last result)
        self._at: float | None = None  # monotonic time of the last result
        self._conn: asyncpg.Connection | None = None
        self._running: asyncio.Future[bool] | None = None

    async def check(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """True when ``SELECT 1`` came back within ``timeout`` seconds (the probe's own when
        None); a result younger than ``cache_seconds`` is returned as is."""
        if self._at is not None and time.monotonic() - self._at < self.cache_seconds:
            assert self.last is not None
            return self.last
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._probe(timeout or self.timeout))
        return await asyncio.shield(self._running)

    async def _probe(self, timeout: float) -> bool:  # noqa: ASYNC109
        self.checks += 1
        try:
            async with asyncio.timeout(timeout):
                await self._select_one()
            up = True
        except Exception as exc:
            log.warning("database probe failed: %s", type(exc).__name__)
            self._drop()
            up = False
        self.last, self._at = up, time.monotonic()
        if self.on_result is not None:
            self.on_result(up)
        return up

    async def _select_one(self) -> None:
        """``SELECT 1``; a connection the server dropped since (a restart, an idle timeout)
        is replaced once before the probe counts as failed."""
        while True:
            fresh = self._conn is None or self._conn.is_closed()
            if fresh:
                self._conn = await asyncpg.connect(self.url, server_settings=PROBE_SETTINGS)
            assert self._conn is not None
            try:
                await self._conn.fetchval("SELECT 1")
                return
            except Exception:
                self._drop()
                if fresh:
                    raise

    def _drop(self) -> None:
        """Forget the connection (it may be stuck mid-query): the next check opens one."""
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def close(self) -> None:
        """Close the connection (a check under way is awaited first)."""
        if self._running is not None and not self._running.done():
            with contextlib.suppress(Exception):
                await self._running
        if self._conn is not None:
            try:
                await asyncio.wait_for(self._conn.close(), self.timeout)
            except Exception:
                self._conn.terminate()
            self._conn = None
