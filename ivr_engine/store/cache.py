"""Number configurations in memory, dropped as soon as the database says they changed.

Triggers on every table a configuration depends on send ``n:<number>`` or ``t:<tenant>``
on the ``ivr_config`` channel; a dedicated connection LISTENs and drops the affected
entries, so the next call on every engine instance reads the new configuration. Unknown
numbers are cached too (as None) until the number is created.

While the listener is down nothing is cached (notifications could be missed); when it comes
back the whole cache is cleared. Dropped entries are kept aside as the last known
configuration: when the database cannot be reached, ``get`` and ``peek`` answer with it, so
calls keep being routed through a database outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.numbers import try_normalize
from ivr_engine.store.config_repo import fetch_all_number_configs, fetch_number_config
from ivr_engine.store.pool import connect

log = logging.getLogger(__name__)

CHANNEL = "ivr_config"
APPLICATION_NAME = "ivr-config-listener"  # how the listener shows in pg_stat_activity
ALL = "*"  # what invalidation listeners receive when the whole cache is cleared


class ConfigCache:
    """Read-through cache of ``NumberConfig`` by normalised virtual number."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        listen_url: str,
        *,
        channel: str = CHANNEL,
        reconnect_delay: float = 0.2,
        health_interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self._url = listen_url
        self._channel = channel
        self._reconnect_delay = reconnect_delay
        self._health_interval = health_interval
        self._entries: dict[str, NumberConfig | None] = {}
        self._last_known: dict[str, NumberConfig | None] = {}
        self._by_tenant: dict[str, set[str]] = {}
        self._epoch = 0
        self._listener: asyncpg.Connection | None = None
        self._listening = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._callbacks: list[Callable[[str], None]] = []
        self.hits = 0
        self.misses = 0
        self.reconnects = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect the listener; raises DatabaseUnavailable when the server is unreachable."""
        await self._connect()
        self._spawn(self._health_loop())

    async def close(self) -> None:
        """Stop listening and forget everything."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        listener, self._listener = self._listener, None
        self._listening.clear()
        if listener is not None and not listener.is_closed():
            listener.remove_termination_listener(self._on_terminated)
            await listener.close()
        self.forget()

    @property
    def listening(self) -> bool:
        """True while notifications are being received (entries are cached only then)."""
        return self._listening.is_set()

    async def wait_until_listening(self) -> None:
        """Wait until the listener is connected (wrap in ``asyncio.timeout`` to bound it)."""
        await self._listening.wait()

    def add_invalidation_listener(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(key)`` after entries are dropped (key ``n:..``, ``t:..`` or ``*``)."""
        self._callbacks.append(callback)

    # -- reads -----------------------------------------------------------------------------

    def peek(self, number: str) -> NumberConfig | None:
        """The cached configuration, without I/O; None when unknown or not cached yet."""
        entry = self._entries.get(number)
        if entry is None and number not in self._entries:
            key = try_normalize(number)
            entry = self._entries.get(key) if key else None
        return entry

    def last_known(self, number: str) -> NumberConfig | None:
        """The cached configuration, or the last one known before it was dropped; for
        routing calls while the database cannot be reached."""
        for key in (number, try_normalize(number)):
            if key and key in self._entries:
                return self._entries[key]
            if key and key in self._last_known:
                return self._last_known[key]
        return None

    def forget(self) -> None:
        """Drop every entry and every last known configuration."""
        self.clear()
        self._last_known.clear()

    def __contains__(self, number: str) -> bool:
        """True when the number (normalised) has an entry, positive or negative."""
        return number in self._entries or try_normalize(number) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, number: str) -> NumberConfig | None:
        """The number's configuration (None when the database does not know it)."""
        key = number if number in self._entries else try_normalize(number)
        if not key:
            return None
        if key in self._entries:
            self.hits += 1
            return self._entries[key]
        self.misses += 1
        epoch = self._epoch
        try:
            config = await fetch_number_config(self._pool, key)
        except (
            TimeoutError,
            OSError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
        ) as exc:
            if key not in self._last_known:
                raise
            log.warning(
                "configuration of %s from memory: database unreachable (%s)", key[:4] + "...", exc
            )
            return self._last_known[key]
        if epoch == self._epoch and self.listening:
            self._store(key, config)
        else:  # not cached (a change could be missed) but still the best known for outages
            self._last_known[key] = config
        return config

    async def preload(self) -> int:
        """Load every number into the cache; returns how many were loaded."""
        epoch = self._epoch
        configs = await fetch_all_number_configs(self._pool)
        if epoch != self._epoch or not self.listening:
            return 0
        for config in configs:
            self._store(config.number, config)
        return len(configs)

    # -- invalidation ----------------------------------------------------------------------

    def clear(self) -> None:
        """Drop every entry (kept aside as last known)."""
        self._epoch += 1
        self._last_known.update(self._entries)
        self._entries.clear()
        self._by_tenant.clear()

    def invalidate(self, key: str) -> None:
        """Drop what ``key`` names: ``n:<number>``, ``t:<tenant id>``; anything else clears."""
        self._epoch += 1
        kind, _, value = key.partition(":")
        if kind == "n":
            self._drop(value)
        elif kind == "t":
            for number in self._by_tenant.pop(value, set()):
                if number in self._entries:
                    self._last_known[number] = self._entries.pop(number)
        else:
            self.clear()
            key = ALL
        for callback in self._callbacks:
            callback(key)

    def _store(self, key: str, config: NumberConfig | None) -> None:
        self._drop(key)
        self._entries[key] = config
        if config is not None:
            self._by_tenant.setdefault(config.tenant_id, set()).add(key)

    def _drop(self, key: str) -> None:
        if key in self._entries:
            self._last_known[key] = self._entries[key]
        old = self._entries.pop(key, None)
        if old is not None:
            numbers = self._by_tenant.get(old.tenant_id)
            if numbers is not None:
                numbers.discard(key)

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.invalidate(payload)

    # -- the listener connection -----------------------------------------------------------

    async def _connect(self) -> None:
        conn = await connect(self._url, server_settings={"application_name": APPLICATION_NAME})
        conn.add_termination_listener(self._on_terminated)
        await conn.add_listener(self._channel, self._on_notify)
        self._listener = conn
        self.invalidate(ALL)  # whatever happened while not listening is unknown
        self._listening.set()

    def _on_terminated(self, conn: Any) -> None:
        if self._closing or conn is not self._listener:
            return
        log.warning("configuration listener lost; reconnecting")
        self._listening.clear()
        self._listener = None
        self.invalidate(ALL)
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = self._reconnect_delay
        while not self._closing:
            try:
                await self._connect()
                self.reconnects += 1
                log.info("configuration listener reconnected")
                return
            except Exception as exc:  # keep trying whatever the cause
                log.warning("configuration listener: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _health_loop(self) -> None:
        """Detect a silently dead listener (no FIN from a vanished server)."""
        while not self._closing:
            await asyncio.sleep(self._health_interval)
            conn = self._listener
            if conn is None:
                continue
            try:
                await asyncio.wait_for(conn.execute("SELECT 1"), self._health_interval)
            except Exception:
                still_ours = self._listener is conn
                if still_ours:
                    conn.terminate()  # fires _on_terminated

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
