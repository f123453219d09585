"""Every Prometheus metric of the engine, defined once, on a registry of its own.

Two kinds of metric live here:

- **Pushed** ones (counters and histograms the code updates as things happen): calls by
  result, planner and ARI request latency, ARI errors, database errors, event-loop lag.
- **Read at scrape time** (``SCRAPED``): values the engine already keeps (active calls,
  the events WebSocket's health, the configuration cache's counters, the CDR writer's
  queue and journal). A ``ScrapeCollector`` turns a ``name -> value`` mapping, read when
  Prometheus scrapes, into those families; a missing or None value is left out.

Label values are bounded: ``LabelCap`` hands out at most ``cap`` distinct values of an
open-ended label (numbers, tenants) and folds the rest into ``other``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

OTHER = "other"

# Seconds. Planning is pure CPU (tens of microseconds); ARI requests are LAN round trips.
PLAN_BUCKETS = (0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05)
ARI_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class ScrapedMetric:
    """A metric whose value is read from the engine when Prometheus scrapes."""

    name: str  # without the ``_total`` suffix for counters
    kind: str  # gauge | counter
    help: str


SCRAPED: tuple[ScrapedMetric, ...] = (
    ScrapedMetric("ivr_active_calls", "gauge", "Calls in progress on this engine."),
    ScrapedMetric(
        "ivr_ari_websocket_connected", "gauge", "1 while the ARI events WebSocket is connected."
    ),
    ScrapedMetric(
        "ivr_ari_websocket_reconnects",
        "counter",
        "Reconnects of the ARI events WebSocket since start.",
    ),
    ScrapedMetric("ivr_ari_events", "counter", "ARI events received since start."),
    ScrapedMetric("ivr_ami_connected", "gauge", "1 while logged in to AMI (when configured)."),
    ScrapedMetric("ivr_config_cache_hits", "counter", "Configuration cache hits."),
    ScrapedMetric("ivr_config_cache_misses", "counter", "Configuration cache misses."),
    ScrapedMetric("ivr_config_cache_entries", "gauge", "Configurations held in the cache."),
    ScrapedMetric(
        "ivr_config_cache_listening", "gauge", "1 while the cache receives change notifications."
    ),
    ScrapedMetric("ivr_cdr_queue_depth", "gauge", "Call records waiting to be written."),
    ScrapedMetric("ivr_cdr_queue_capacity", "gauge", "Capacity of the call record queue."),
    ScrapedMetric(
        "ivr_cdr_journal_records",
        "gauge",
        "Call records in the on-disk journal, waiting for the database.",
    ),
    ScrapedMetric("ivr_cdr_journal_bytes", "gauge", "Size of the on-disk journal in bytes."),
    ScrapedMetric("ivr_cdr_journal_healthy", "gauge", "1 while the journal can be written."),
    ScrapedMetric(
        "ivr_cdr_last_flush_seconds",
        "gauge",
        "How long the last flush of call records to the database took.",
    ),
    ScrapedMetric("ivr_cdr_records_written", "counter", "Call records written to the database."),
    ScrapedMetric(
        "ivr_cdr_records_journaled",
        "counter",
        "Call records written to the journal (the database was down or slow).",
    ),
    ScrapedMetric(
        "ivr_cdr_records_rejected",
        "counter",
        "Call records the database refused as invalid (kept aside).",
    ),
    ScrapedMetric("ivr_cdr_db_errors", "counter", "Database errors of the call record writer."),
    ScrapedMetric(
        "ivr_cdr_database_up",
        "gauge",
        "1 while the call record writer writes to the database, 0 while it journals.",
    ),
    ScrapedMetric(
        "ivr_database_up", "gauge", "1 when the last database probe succeeded, 0 when it failed."
    ),
    ScrapedMetric(
        "ivr_fallback_sync_entries",
        "gauge",
        "Numbers whose dialplan fallback target is held in AstDB.",
    ),
)
SCRAPED_NAMES = frozenset(m.name for m in SCRAPED)


# Names a CDR writer's ``stats`` may use for each value (first one present wins).
CDR_FIELDS: dict[str, tuple[str, ...]] = {
    "ivr_cdr_queue_depth": ("queue_depth", "queued"),
    "ivr_cdr_queue_capacity": ("queue_capacity", "capacity", "queue_max", "max_queue"),
    "ivr_cdr_journal_records": ("journal_records", "journal_pending"),
    "ivr_cdr_journal_bytes": ("journal_bytes", "journal_size"),
    "ivr_cdr_journal_healthy": ("journal_healthy", "journal_ok"),
    "ivr_cdr_last_flush_seconds": ("last_flush_seconds", "last_flush_latency", "flush_seconds"),
    "ivr_cdr_records_written": ("records_written", "written", "written_total"),
    "ivr_cdr_records_journaled": ("records_journaled", "journaled_total"),
    "ivr_cdr_records_rejected": ("records_rejected", "rejected"),
    "ivr_cdr_db_errors": ("db_errors", "database_errors", "errors"),
    "ivr_cdr_database_up": ("db_up", "database_up"),
}


def metric_value(value: Any) -> float | None:
    """A metric value from a stats field: numbers and booleans; anything else is None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def _field(stats: Any, names: tuple[str, ...]) -> Any:
    """The first of ``names`` that ``stats`` (an object or a mapping) has."""
    for name in names:
        if isinstance(stats, Mapping):
            if name in stats:
                return stats[name]
        elif hasattr(stats, name):
            return getattr(stats, name)
    return None


def cdr_values(stats: Any) -> dict[str, float | None]:
    """The ``ivr_cdr_*`` values of a CDR writer's stats (an object or a mapping); None
    where the stats lack the field."""
    return {name: metric_value(_field(stats, names)) for name, names in CDR_FIELDS.items()}


class ScrapeCollector(Collector):
    """Builds the ``SCRAPED`` families from ``read()``, called on every scrape."""

    def __init__(self, read: Callable[[], Mapping[str, float | None]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        """One family per known metric that has a value now."""
        values = self._read()
        for spec in SCRAPED:
            value = values.get(spec.name)
            if value is None:
                continue
            family: Metric
            if spec.kind == "counter":
                family = CounterMetricFamily(spec.name, spec.help, value=float(value))
            else:
                family = GaugeMetricFamily(spec.name, spec.help, value=float(value))
            yield family

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: the families depend on what the engine has."""
        return iter(())


class LabelCap:
    """Hands out at most ``cap`` distinct label values; later ones become ``other``."""

    def __init__(self, cap: int) -> None:
        self.cap = max(0, cap)
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """The label to use for ``value``."""
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self.cap:
                self._seen.add(value)
                return value
        return OTHER


class Metrics:
    """The engine's metrics on a dedicated ``CollectorRegistry`` (one per engine; tests get
    isolated ones)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter(
            "ivr_calls",
            "Finished calls by schedule state, plan outcome and result.",
            ["state", "outcome", "result"],
            registry=r,
        )
        self.tenant_calls = Counter(
            "ivr_tenant_calls",
            "Finished calls by tenant (capped) and result.",
            ["tenant", "result"],
            registry=r,
        )
        self.number_calls = Counter(
            "ivr_number_calls",
            "Finished calls by virtual number (when enabled; capped) and result.",
            ["number", "result"],
            registry=r,
        )
        self.target_attempts = Counter(
            "ivr_target_attempts", "Forward target attempts by result.", ["result"], registry=r
        )
        self.plan_seconds = Histogram(
            "ivr_plan_seconds",
            "Time to plan a call (pure planner).",
            buckets=PLAN_BUCKETS,
            registry=r,
        )
        self.ari_request_seconds = Histogram(
            "ivr_ari_request_seconds",
            "ARI REST request latency by operation.",
            ["operation"],
            buckets=ARI_BUCKETS,
            registry=r,
        )
        self.ari_request_errors = Counter(
            "ivr_ari_request_errors",
            "Failed ARI REST requests by operation and status class (4xx, 5xx, connection).",
            ["operation", "status_class"],
            registry=r,
        )
        self.database_errors = Counter(
            "ivr_database_errors",
            "Database errors seen by the engine, by source.",
            ["source"],
            registry=r,
        )
        self.event_loop_lag = Gauge(
            "ivr_event_loop_lag_seconds",
            "Latest event-loop lag: how late a timer fired.",
            registry=r,
        )
        self.event_loop_lag_hist = Histogram(
            "ivr_event_loop_lag_distribution_seconds",
            "Event-loop lag samples.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.fallback_sync_actions = Counter(
            "ivr_fallback_sync_actions",
            "AstDB writes of the dialplan fallback table by "
            "action (put, del) and result (ok, error).",
            ["action", "result"],
            registry=r,
        )

    def add_scrape_source(self, read: Callable[[], Mapping[str, float | None]]) -> None:
        """Read ``SCRAPED`` values from ``read()`` on every scrape."""
        self.registry.register(ScrapeCollector(read))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
