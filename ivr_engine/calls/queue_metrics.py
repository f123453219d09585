"""Live queue gauges for Prometheus: callers waiting, the longest wait, agents per state.

The values are read from Postgres (through the ``QueueRepo`` port), so every engine instance reports
the same picture of the shared queues. Register them on the engine's registry
(``ivr_engine.metrics.Metrics().registry``); ``refresh(now)`` is what ``AgentTimers`` calls
once per interval.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge

from ivr_engine.calls.ports_store import QueueRepo
from ivr_engine.domain.acd import AgentState


class QueueMetrics:
    """The queue gauges, on ``registry``."""

    def __init__(self, calls: QueueRepo, registry: CollectorRegistry | None = None) -> None:
        self.calls = calls
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.waiting = Gauge(
            "ivr_queue_callers_waiting",
            "Callers waiting in a queue now.",
            ["tenant", "queue"],
            registry=r,
        )
        self.longest_wait = Gauge(
            "ivr_queue_longest_wait_seconds",
            "How long the queue's oldest waiting caller has waited.",
            ["tenant", "queue"],
            registry=r,
        )
        self.agents = Gauge(
            "ivr_queue_agents", "Agents per state.", ["tenant", "state"], registry=r
        )

    async def refresh(self, now: datetime) -> None:
        """Read the current values (queues that emptied drop to 0)."""
        live = await self.calls.live_queues(now=now)
        counts = await self.calls.agent_state_counts()
        seen = {(q.tenant_id, q.queue_id) for q in live}
        for labels in self._labels(self.waiting):
            if labels not in seen:
                self.waiting.labels(*labels).set(0)
                self.longest_wait.labels(*labels).set(0)
        for q in live:
            self.waiting.labels(q.tenant_id, q.queue_id).set(q.waiting)
            self.longest_wait.labels(q.tenant_id, q.queue_id).set(round(q.longest_wait, 3))
        tenants = {t for t, _, _ in counts} | {t for t, _ in self._labels(self.agents)}
        per = {(t, s): n for t, s, n in counts}
        for tenant in tenants:
            for state in AgentState:
                self.agents.labels(tenant, state.value).set(per.get((tenant, state.value), 0))

    @staticmethod
    def _labels(gauge: Gauge) -> list[tuple[str, str]]:
        """The label sets a gauge has reported so far."""
        return [
            (s.labels[gauge._labelnames[0]], s.labels[gauge._labelnames[1]])
            for m in gauge.collect()
            for s in m.samples
        ]
