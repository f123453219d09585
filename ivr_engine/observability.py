"""Instrumentation: feeds ``metrics.Metrics`` from the running engine.

- every ARI request (the client's ``RequestStat`` observer): latency and errors;
- every finished call (chained onto ``CallEnv.on_end``): calls by state, outcome, result,
  by tenant and, when enabled, by virtual number (both capped);
- values read at scrape time: active calls, the ARI WebSocket's and AMI's health, the
  configuration cache's counters, the CDR writer's ``stats`` (registered later with
  ``register_cdr_stats``) and the fallback sync's;
- a sampler task for event-loop lag and a periodic database probe.

``readiness()`` is what ``/readyz`` answers: ARI connected, and the database reachable or
the CDR journal healthy (records are then kept on disk until the database returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ivr_engine.asterisk.ari.http import Observer, RequestStat
from ivr_engine.domain.dialing import TargetResult
from ivr_engine.domain.trace import CallTrace
from ivr_engine.metrics import LabelCap, Metrics, cdr_values, metric_value
from ivr_engine.store.probe import DatabaseProbe

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def call_result(trace: CallTrace) -> str:
    """A bounded, disposition-like result of a finished call.

    answered, busy, no_answer, failed (no target reachable, or no plan), abandoned (the
    caller hung up before a target answered), announced (an announcement-only plan),
    fallback (handed back to the dialplan's fallback).
    """
    if any(e.kind == "fallback" for e in trace.entries):
        return "fallback"
    if trace.answered_target is not None:
        return "answered"
    if trace.outcome is None:
        return "failed"
    if trace.outcome == "announce":
        return "announced"
    if trace.hangup_by == "caller":
        return "abandoned"
    results = {a.result for a in trace.attempts}
    if TargetResult.BUSY in results:
        return "busy"
    if TargetResult.NO_ANSWER in results:
        return "no_answer"
    return "failed"


def status_class(stat: RequestStat) -> str:
    """``4xx``, ``5xx`` or ``connection`` (no HTTP answer) for a failed request."""
    if stat.status == 0:
        return "connection"
    return f"{stat.status // 100}xx"


class Observability:
    """Feeds one engine's metrics; build it with ``for_engine`` or from parts (tests)."""

    def __init__(
        self,
        metrics: Metrics | None = None,
        *,
        settings: Any = None,
        dispatcher: Any = None,
        stream: Any = None,
        cache: Any = None,
        database_url: str | None = None,
        ami: Any = None,
        lag_interval: float = 0.5,
        db_probe_interval: float = 5.0,
        db_probe_timeout: float = 2.0,
        db_probe_cache: float = 1.0,
    ) -> None:
        self.metrics = metrics or Metrics()
        self._ari_seconds: dict[str, Any] = {}  # operation -> its histogram child
        self.dispatcher, self.stream, self.cache, self.ami = dispatcher, stream, cache, ami
        self.lag_interval = lag_interval
        self.db_probe_interval = db_probe_interval
        self.db_probe_timeout = db_probe_timeout
        # The probe's own connection: call traffic may hold every pooled one.
        self.probe = (
            DatabaseProbe(
                database_url,
                timeout=db_probe_timeout,
                cache_seconds=db_probe_cache,
                on_result=self._probed,
            )
            if database_url
            else None
        )
        self.per_number = bool(getattr(settings, "metrics_per_number", False))
        self._numbers = LabelCap(int(getattr(settings, "metrics_number_cap", 100)))
        self._tenants = LabelCap(int(getattr(settings, "metrics_tenant_cap", 500)))
        self._children: dict[tuple[object, ...], Any] = {}
        self.cdr: Any = None
        self.fallback: Any = None
        self.database_up: bool | None = None
        self.database_checked: float | None = None
        self._lag_waiters: list[asyncio.Future[float]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics.add_scrape_source(self.scrape_values)

    @classmethod
    def for_engine(
        cls, engine: Any, metrics: Metrics | None = None, **options: Any
    ) -> Observability:
        """Observability of a ``RunningEngine``: its ARI client and call ends instrumented."""
        obs = cls(
            metrics,
            settings=engine.settings,
            dispatcher=engine.dispatcher,
            stream=engine.stream,
            cache=engine.cache,
            database_url=engine.db.url,
            ami=getattr(engine, "ami", None),
            **options,
        )
        obs.install_ari_observer(engine.ari)
        obs.chain_on_end(engine.env)
        return obs

    # -- registration -------------------------------------------------------------------------
    def register_cdr_stats(self, provider: Any) -> None:
        """Read CDR queue / journal / flush values from ``provider.stats`` at scrape time."""
        self.cdr = provider

    def register_fallback_sync(self, sync: Any) -> None:
        """Read the number of AstDB fallback entries from ``sync.entries`` at scrape time."""
        self.fallback = sync

    def install_ari_observer(self, client: Any) -> None:
        """Observe every request of an ``AriClient`` (keeping an observer already there)."""
        previous: Observer | None = client.observer
        if previous is None:
            client.observer = self.observe_ari
            return

        def both(stat: RequestStat) -> None:
            self.observe_ari(stat)
            previous(stat)

        client.observer = both

    def chain_on_end(self, env: Any) -> None:
        """Count every finished call, then call the hook that was there before."""
        previous: Callable[[CallTrace], None] | None = env.on_end

        def on_end(trace: CallTrace) -> None:
            try:
                self.observe_call(trace)
            except Exception:
                log.exception("counting call %s failed", trace.channel_id)
            if previous is not None:
                previous(trace)

        env.on_end = on_end

    # -- pushed metrics -----------------------------------------------------------------------
    def observe_ari(self, stat: RequestStat) -> None:
        """One ARI request: its latency, and an error when it failed."""
        # The labelled child per operation is looked up once (labels() takes a lock and
        # builds a key every time; there are a handful of operations and 9 requests a call).
        child = self._ari_seconds.get(stat.operation)
        if child is None:
            child = self._ari_seconds[stat.operation] = self.metrics.ari_request_seconds.labels(
                stat.operation
            )
        child.observe(stat.seconds)
        if stat.error is not None or stat.status >= 400 or stat.status == 0:
            self.metrics.ari_request_errors.labels(stat.operation, status_class(stat)).inc()

    def observe_call(self, trace: CallTrace) -> None:
        """One finished call."""
        result = call_result(trace)
        state, outcome = trace.state or "none", trace.outcome or "none"
        m = self.metrics
        child = self._child
        child(m.calls, state, outcome, result).inc()
        child(m.tenant_calls, self._tenants(trace.tenant_id or "none"), result).inc()
        if self.per_number:
            child(m.number_calls, self._numbers(trace.number), result).inc()
        for attempt in trace.attempts:
            child(m.target_attempts, str(attempt.result)).inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        """The labelled child of a per-call metric, looked up once per label set (the
        label values are capped, so this stays small)."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def database_error(self, source: str) -> None:
        """Count a database error (``source``: which part of the engine saw it)."""
        self.metrics.database_errors.labels(source).inc()

    def timed_planner(self, plan: F) -> F:
        """``plan`` wrapped so that every call is timed into ``ivr_plan_seconds``."""
        histogram = self.metrics.plan_seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return plan(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return timed  # type: ignore[return-value]

    # -- read at scrape time ------------------------------------------------------------------
    def cdr_values(self) -> dict[str, float | None]:
        """The CDR writer's values, None where its ``stats`` lacks them."""
        stats = getattr(self.cdr, "stats", None) if self.cdr is not None else None
        if callable(stats):
            stats = stats()
        return {} if stats is None else cdr_values(stats)

    def journal_healthy(self) -> bool:
        """True when a CDR writer is registered and its journal can take records: its
        ``journal_healthy`` flag when its stats have one, else the writer answering at all."""
        values = self.cdr_values()
        if not values:
            return False
        flag = values.get("ivr_cdr_journal_healthy")
        return flag is None or flag == 1.0

    def scrape_values(self) -> dict[str, float | None]:
        """Every value read at scrape time (None where the engine has no such part)."""
        out: dict[str, float | None] = {}
        if self.dispatcher is not None:
            out["ivr_active_calls"] = self.dispatcher.active
        if self.stream is not None:
            health = self.stream.health
            out["ivr_ari_websocket_connected"] = 1.0 if health.ready else 0.0
            out["ivr_ari_websocket_reconnects"] = health.reconnects
            out["ivr_ari_events"] = health.events
        if self.ami is not None:
            out["ivr_ami_connected"] = 1.0 if self.ami.health.ready else 0.0
        if self.cache is not None:
            out["ivr_config_cache_hits"] = self.cache.hits
            out["ivr_config_cache_misses"] = self.cache.misses
            out["ivr_config_cache_entries"] = len(self.cache)
            out["ivr_config_cache_listening"] = 1.0 if self.cache.listening else 0.0
        if self.database_up is not None:
            out["ivr_database_up"] = 1.0 if self.database_up else 0.0
        if self.fallback is not None:
            out["ivr_fallback_sync_entries"] = metric_value(getattr(self.fallback, "entries", None))
        out.update(self.cdr_values())
        return out

    # -- probes -------------------------------------------------------------------------------
    async def check_database(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Whether PostgreSQL answers ``SELECT 1`` on the probe's own connection (never the
        shared pool); a result under ``db_probe_cache`` seconds old is reused."""
        if self.probe is None:
            return False
        return await self.probe.check(timeout)

    def _probed(self, up: bool) -> None:
        """One probe's result: the ``ivr_database_up`` gauge, an error counted if down."""
        if not up:
            self.database_error("probe")
        self.database_up, self.database_checked = up, time.time()

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether this engine should get calls, with the details behind the answer."""
        health = self.stream.health if self.stream is not None else None
        ari_ok = bool(health is not None and health.ready)
        db_ok = await self.check_database()
        journal_ok = self.journal_healthy()
        ready = ari_ok and (db_ok or journal_ok)
        details: dict[str, Any] = {
            "ready": ready,
            "ari": {
                "connected": ari_ok,
                "state": str(health.state) if health is not None else "absent",
                "reconnects": health.reconnects if health is not None else 0,
                "last_error": health.last_error if health is not None else None,
            },
            "database": {"reachable": db_ok},
            "journal": {"healthy": journal_ok, "registered": self.cdr is not None},
        }
        if self.ami is not None:
            details["ami"] = {
                "connected": self.ami.health.ready,
                "state": str(self.ami.health.state),
            }
        return ready, details

    # -- background tasks ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start the event-loop lag sampler and the periodic database probe."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._sample_lag(), name="loop-lag"),
                asyncio.create_task(self._probe_database(), name="db-probe"),
            ]

    async def stop(self) -> None:
        """Stop the background tasks and close the probe's connection."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.probe is not None:
            await self.probe.close()

    async def next_lag_sample(self) -> float:
        """Wait for the sampler's next measurement and return it (seconds)."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._lag_waiters.append(waiter)
        return await waiter

    async def _sample_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.lag_interval)
            lag = max(0.0, loop.time() - started - self.lag_interval)
            self.metrics.event_loop_lag.set(lag)
            self.metrics.event_loop_lag_hist.observe(lag)
            waiters, self._lag_waiters = self._lag_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(lag)

    async def _probe_database(self) -> None:
        while True:
            await self.check_database()
            await asyncio.sleep(self.db_probe_interval)
