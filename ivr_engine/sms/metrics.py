"""Callback-text metrics on the engine's Prometheus registry.

Counters (sent, failed and suppressed by reason, retries, discarded, errors) come from this
process's ``COUNTERS`` at scrape time; the outbox depth by state and the age of the oldest
due text come from the database, refreshed in the background (a scrape never waits on
Postgres).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr_engine.sms.stats import COUNTERS, SmsCounters, stats, utc_now

log = logging.getLogger(__name__)


class SmsMetrics(Collector):
    """Exposes the callback-text figures; ``start()`` keeps the database gauges fresh."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        registry: CollectorRegistry,
        *,
        clock: Callable[[], datetime] = utc_now,
        interval: float = 5.0,
        counters: SmsCounters = COUNTERS,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.interval = interval
        self.counters = counters
        self.depth: dict[str, int] = {}
        self.oldest_age = 0.0
        self._task: asyncio.Task[None] | None = None
        registry.register(self)

    async def refresh(self) -> None:
        """Read the outbox depth and the oldest due text's age from the database."""
        snapshot: dict[str, Any] = await stats(self.pool, self.clock, self.counters)
        self.depth = dict(snapshot["depth"])
        self.oldest_age = float(snapshot["oldest_queued_age_seconds"])

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("callback text gauges not refreshed: %s", exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Refresh the database gauges in the background."""
        self._task = asyncio.create_task(self._run(), name="sms-metrics")

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None

    def collect(self) -> Iterator[Metric]:
        """The families, read now."""
        c = self.counters
        sent = CounterMetricFamily("ivr_sms_sent", "Callback texts sent.")
        sent.add_metric([], c.sent)
        yield sent
        for name, doc, values in (
            ("ivr_sms_failed", "Callback texts that failed, by reason.", c.failed),
            ("ivr_sms_suppressed", "Callback texts not sent, by reason.", c.suppressed),
        ):
            family = CounterMetricFamily(name, doc, labels=["reason"])
            for reason, n in sorted(values.items()):
                family.add_metric([reason], n)
            yield family
        for name, doc, value in (
            ("ivr_sms_retries", "Send attempts retried.", c.retries),
            ("ivr_sms_discarded", "Texts discarded by a person.", c.discarded),
            ("ivr_sms_errors", "Decisions that could not be made.", c.errors),
        ):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value)
            yield family
        depth = GaugeMetricFamily(
            "ivr_sms_outbox_depth", "Callback texts not finished, by state.", labels=["state"]
        )
        for state, n in sorted(self.depth.items()):
            depth.add_metric([state], n)
        yield depth
        yield GaugeMetricFamily(
            "ivr_sms_oldest_queued_age_seconds",
            "Age of the oldest callback text due but not sent.",
            value=self.oldest_age,
        )

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: the families are built at scrape time."""
        return iter(())
