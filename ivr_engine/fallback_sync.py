"""Keeps the dialplan's fallback table in Asterisk's own database (AstDB) over AMI.

When no engine serves ARI, ``Stasis()`` fails and the dialplan's ``ivr-fallback`` context
forwards the call to the number's first target, read with ``DB()``:

    ivr-fallback/<number>       the first forward target (national digits)
    ivr-fallback-ring/<number>  its ring time in seconds
    ivr-fallback-cid/<number>   caller id mode: ``caller`` or ``virtual_number``

Every active number with targets has the three keys; paused, terminated and deleted
numbers have none (DBDel). A full sync runs at start, after every AMI (re)login (the
``FullyBooted`` event) and every ``resync_interval``; a configuration change resyncs the
number (or tenant) named by the cache's invalidation (LISTEN/NOTIFY), within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr_engine.asterisk.ami.protocol import AmiError
from ivr_engine.domain.model import NumberConfig, NumberStatus
from ivr_engine.domain.numbers import mask
from ivr_engine.metrics import Metrics
from ivr_engine.store.config_repo import fetch_all_number_configs, fetch_number_config

log = logging.getLogger(__name__)

FAMILY = "ivr-fallback"
RING_FAMILY = "ivr-fallback-ring"
CID_FAMILY = "ivr-fallback-cid"
FAMILIES = (FAMILY, RING_FAMILY, CID_FAMILY)
CONCURRENCY = 32  # numbers written at once during a full sync


@dataclass(frozen=True)
class FallbackEntry:
    """What AstDB holds for one number: its first target, ring time and caller id mode."""

    target: str
    ring_seconds: int
    caller_id: str

    def values(self) -> dict[str, str]:
        """``family -> value`` for DBPut."""
        return {
            FAMILY: self.target,
            RING_FAMILY: str(self.ring_seconds),
            CID_FAMILY: self.caller_id,
        }


def digits(number: str) -> str:
    """The digits of a number: the AstDB key form (``05051234567``)."""
    return re.sub(r"\D", "", number)


def fallback_entry(config: NumberConfig | None) -> FallbackEntry | None:
    """The entry a number should have, or None when the fallback must not forward it
    (unknown, paused, terminated, or no targets)."""
    if config is None or config.status is not NumberStatus.ACTIVE or not config.targets:
        return None
    first = config.targets[0]
    return FallbackEntry(digits(first.number), int(first.ring_seconds), str(config.caller_id))


@dataclass
class SyncReport:
    """What one sync did."""

    put: int = 0
    deleted: int = 0
    unchanged: int = 0
    errors: int = 0


class FallbackSync:
    """Mirrors every number's fallback entry into AstDB through an ``AmiClient``."""

    def __init__(
        self,
        ami: Any,
        pool: Any,
        cache: Any = None,
        *,
        metrics: Metrics | None = None,
        resync_interval: float | None = 300.0,
        retry_delay: float = 1.0,
    ) -> None:
        self.ami = ami
        self.pool = pool
        self.cache = cache
        self.metrics = metrics
        self.resync_interval = resync_interval
        self.retry_delay = retry_delay
        self.full_syncs = 0
        self._written: dict[str, FallbackEntry] = {}  # what AstDB holds, as far as we know
        self._full: bool | None = None  # pending full sync: None none, False diff, True forced
        self._numbers: set[str] = set()
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def entries(self) -> int:
        """Numbers whose fallback entry is in AstDB."""
        return len(self._written)

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen for changes and AMI logins; a forced full sync starts at once."""
        if self._task is not None:
            return
        if self.cache is not None:
            self.cache.add_invalidation_listener(self.on_invalidation)
        self.ami.on_event("FullyBooted", self._on_login)
        self.request_full(force=True)
        self._task = asyncio.create_task(self._run(), name="fallback-sync")

    async def stop(self) -> None:
        """Stop syncing (AstDB keeps its entries: the fallback must outlive the engine)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds; it is checked after every finished sync step
        (bound it with ``asyncio.timeout``)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    # -- requests -----------------------------------------------------------------------------
    def request_full(self, *, force: bool = False) -> None:
        """Ask for a full sync; ``force`` rewrites every key whatever AstDB is believed to hold."""
        self._full = bool(self._full) or force
        self._wake.set()

    def request_number(self, number: str) -> None:
        """Ask for one number's resync."""
        self._numbers.add(number)
        self._wake.set()

    def on_invalidation(self, key: str) -> None:
        """A ``ConfigCache`` invalidation: ``n:<number>``, ``t:<tenant>`` or ``*``."""
        kind, _, value = key.partition(":")
        if kind == "n" and value:
            self.request_number(value)
        else:
            self.request_full()

    async def _on_login(self, _message: object) -> None:
        """After every AMI login: AstDB may have been lost or changed meanwhile."""
        self.request_full(force=True)

    # -- the worker ---------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.retry_delay
        while True:
            if not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.resync_interval):
                        await self._wake.wait()
                if not self._wake.is_set():
                    self.request_full()
            self._wake.clear()
            full, self._full = self._full, None
            numbers, self._numbers = self._numbers, set()
            try:
                if full is not None:
                    await self.sync_all(force=full)
                else:
                    for number in sorted(numbers):
                        await self.sync_number(number)
                delay = self.retry_delay
            except Exception as exc:  # AMI or database down: try again later
                log.warning(
                    "fallback sync failed (%s: %s); retrying in %.1fs",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                if full is not None:
                    self.request_full(force=full)
                for number in numbers:
                    self.request_number(number)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- syncing ------------------------------------------------------------------------------
    async def sync_all(self, *, force: bool = True) -> SyncReport:
        """Bring every number's AstDB keys in line with the database. ``force`` writes every
        key; otherwise only what differs from what was written before."""
        configs = await fetch_all_number_configs(self.pool)
        desired = {digits(c.number): fallback_entry(c) for c in configs}
        stale = set(self._written) - set(desired)
        if force:
            stale |= await self._astdb_numbers()
            stale -= {n for n, e in desired.items() if e is not None}
        report = SyncReport()
        work = [(n, e, force) for n, e in desired.items()] + [(n, None, True) for n in stale]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(number: str, entry: FallbackEntry | None, forced: bool) -> None:
            async with gate:
                await self._apply(number, entry, forced, report)

        await asyncio.gather(*(one(*w) for w in work))
        log.info(
            "fallback sync: %d put, %d deleted, %d unchanged, %d errors",
            report.put,
            report.deleted,
            report.unchanged,
            report.errors,
        )
        if report.errors:
            raise AmiError(f"{report.errors} AstDB action(s) failed")
        self.full_syncs += 1
        return report

    async def sync_number(self, number: str) -> SyncReport:
        """Bring one number's AstDB keys in line with the database."""
        config = await fetch_number_config(self.pool, number)
        report = SyncReport()
        await self._apply(digits(number), fallback_entry(config), False, report)
        if report.errors:
            raise AmiError(f"AstDB update for {mask(number)} failed")
        return report

    async def _apply(
        self, number: str, entry: FallbackEntry | None, force: bool, report: SyncReport
    ) -> None:
        """Write (or delete) one number's keys unless AstDB already holds them."""
        known = self._written.get(number)
        if not force and known == entry:
            report.unchanged += 1
            return
        try:
            if entry is None:
                for family in FAMILIES:
                    await self.ami.db_del(family, number, missing_ok=True)
                self._written.pop(number, None)
                report.deleted += 1
                self._count("del", "ok")
            else:
                self._written.pop(number, None)  # unknown until every key is written
                for family, value in entry.values().items():
                    await self.ami.db_put(family, number, value)
                self._written[number] = entry
                report.put += 1
                self._count("put", "ok")
        except AmiError as exc:
            report.errors += 1
            self._count("put" if entry else "del", "error")
            log.warning("AstDB update for %s failed: %s", mask(number), exc)

    async def _astdb_numbers(self) -> set[str]:
        """Numbers AstDB has a fallback target for (DBGetTree, Asterisk 20+); empty when
        the server does not know the action."""
        try:
            items = await self.ami.list_action({"Action": "DBGetTree", "Family": FAMILY})
        except AmiError:
            return set()
        return {str(m.get("Key", "")).rsplit("/", 1)[-1] for m in items if m.get("Key")}

    def _count(self, action: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.fallback_sync_actions.labels(action, result).inc()
