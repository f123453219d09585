"""Callback-text metrics: counters from the process, outbox gauges from the database."""

from __future__ import annotations

import asyncpg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ivr_engine.sms.metrics import SmsMetrics
from ivr_engine.sms.stats import SmsCounters


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


async def test_counters_and_gauges_are_exposed(pool: asyncpg.Pool) -> None:
    registry = CollectorRegistry()
    counters = SmsCounters()
    metrics = SmsMetrics(pool, registry, counters=counters)
    counters.sent += 3
    counters.suppressed["duplicate"] += 2
    counters.failed["gave_up"] += 1
    await metrics.refresh()  # an empty outbox: every depth 0
    samples = _samples(registry)
    assert samples[("ivr_sms_sent_total", ())] == 3
    assert samples[("ivr_sms_suppressed_total", (("reason", "duplicate"),))] == 2
    assert samples[("ivr_sms_failed_total", (("reason", "gave_up"),))] == 1
    assert samples[("ivr_sms_outbox_depth", (("state", "queued"),))] == 0
    assert samples[("ivr_sms_oldest_queued_age_seconds", ())] == 0
