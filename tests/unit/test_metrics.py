"""Metrics and instrumentation without I/O: labels, call results, scrape-time values,
readiness rules, the planner timer and the event-loop lag sampler."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from ivr_engine.asterisk.ari.http import RequestStat
from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.trace import CallTrace
from ivr_engine.metrics import OTHER, SCRAPED, LabelCap, Metrics
from ivr_engine.observability import Observability, call_result

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def trace(
    number: str = "05051234567",
    *,
    tenant: str | None = "t1",
    state: str | None = "open",
    outcome: str | None = "forward",
    answered: str | None = None,
    attempts: tuple[TargetResult, ...] = (),
    hangup_by: str | None = None,
    fallback: bool = False,
) -> CallTrace:
    t = CallTrace(
        "c1",
        number,
        "01020003000",
        T0,
        tenant_id=tenant,
        state=state,
        outcome=outcome,
        answered_target=answered,
        hangup_by=hangup_by,
    )
    t.attempts = [Attempt("01011112222", r) for r in attempts]
    if fallback:
        t.add(T0, "fallback", "configuration unavailable")
    return t


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def test_call_results_are_bounded_and_disposition_like() -> None:
    assert (
        call_result(
            trace(answered="01011112222", attempts=(TargetResult.BUSY, TargetResult.ANSWERED))
        )
        == "answered"
    )
    assert call_result(trace(attempts=(TargetResult.BUSY, TargetResult.NO_ANSWER))) == "busy"
    assert call_result(trace(attempts=(TargetResult.NO_ANSWER,))) == "no_answer"
    assert call_result(trace(attempts=(TargetResult.UNREACHABLE,))) == "failed"
    assert call_result(trace(attempts=(TargetResult.CANCELLED,), hangup_by="caller")) == "abandoned"
    assert call_result(trace(state="closed", outcome="announce")) == "announced"
    assert call_result(trace(state=None, outcome=None)) == "failed"
    assert call_result(trace(state=None, outcome=None, fallback=True)) == "fallback"


def test_label_cap_folds_later_values_into_other() -> None:
    cap = LabelCap(2)
    assert [cap(v) for v in ("a", "b", "c", "a", "d", "b")] == ["a", "b", OTHER, "a", OTHER, "b"]
    assert LabelCap(0)("a") == OTHER


def test_registries_are_isolated() -> None:
    one, two = Metrics(), Metrics()
    one.database_errors.labels("probe").inc()
    assert samples(one)[("ivr_database_errors_total", (("source", "probe"),))] == 1.0
    assert ("ivr_database_errors_total", (("source", "probe"),)) not in samples(two)


def test_calls_by_tenant_and_capped_per_number_series() -> None:
    settings = SimpleNamespace(metrics_per_number=True, metrics_number_cap=2)
    obs = Observability(settings=settings)
    for number in ("05051234567", "05059876543", "050243218765", "05051234567"):
        obs.observe_call(trace(number, answered="01011112222", attempts=(TargetResult.ANSWERED,)))
    obs.observe_call(trace(tenant=None, state=None, outcome=None, fallback=True))
    got = samples(obs.metrics)
    answered = (("result", "answered"),)
    assert got[("ivr_number_calls_total", (("number", "05051234567"), *answered))] == 2.0
    assert got[("ivr_number_calls_total", (("number", "05059876543"), *answered))] == 1.0
    assert got[("ivr_number_calls_total", (("number", OTHER), *answered))] == 1.0
    assert got[("ivr_calls_total", (("outcome", "forward"), *answered, ("state", "open")))] == 4
    assert (
        got[("ivr_calls_total", (("outcome", "none"), ("result", "fallback"), ("state", "none")))]
        == 1.0
    )
    assert got[("ivr_tenant_calls_total", (*answered, ("tenant", "t1")))] == 4.0
    assert got[("ivr_target_attempts_total", answered)] == 4.0


def test_per_number_series_are_off_unless_enabled() -> None:
    obs = Observability()
    obs.observe_call(trace(answered="01011112222"))
    assert not [k for k in samples(obs.metrics) if k[0] == "ivr_number_calls_total"]


def test_ari_requests_latency_and_errors_by_status_class() -> None:
    obs = Observability()
    obs.observe_ari(RequestStat("channels.play", "POST", 201, 0.004))
    obs.observe_ari(RequestStat("channels.hangup", "DELETE", 404, 0.002, "AriNotFound"))
    obs.observe_ari(RequestStat("channels.hangup", "DELETE", 0, 1.0, "AriConnectionError"))
    obs.observe_ari(RequestStat("bridges.create", "POST", 500, 0.01, "AriServerError"))
    got = samples(obs.metrics)
    assert got[("ivr_ari_request_seconds_count", (("operation", "channels.hangup"),))] == 2.0
    assert got[("ivr_ari_request_seconds_sum", (("operation", "channels.play"),))] == 0.004
    errors = {k[1]: v for k, v in got.items() if k[0] == "ivr_ari_request_errors_total"}
    assert errors == {
        (("operation", "channels.hangup"), ("status_class", "4xx")): 1.0,
        (("operation", "channels.hangup"), ("status_class", "connection")): 1.0,
        (("operation", "bridges.create"), ("status_class", "5xx")): 1.0,
    }


def test_observers_and_call_end_hooks_are_chained() -> None:
    seen: list[Any] = []
    client = SimpleNamespace(observer=seen.append)
    env = SimpleNamespace(on_end=seen.append)
    obs = Observability()
    obs.install_ari_observer(client)
    obs.chain_on_end(env)
    stat = RequestStat("channels.answer", "POST", 204, 0.001)
    client.observer(stat)
    finished = trace(answered="01011112222")
    env.on_end(finished)
    assert seen == [stat, finished]
    got = samples(obs.metrics)
    assert got[("ivr_ari_request_seconds_count", (("operation", "channels.answer"),))] == 1.0
    assert (
        got[
            ("ivr_calls_total", (("outcome", "forward"), ("result", "answered"), ("state", "open")))
        ]
        == 1.0
    )


@dataclass
class CdrStats:
    queue_depth: int = 7
    queue_capacity: int = 10000
    journal_records: int = 3
    journal_bytes: int = 2048
    journal_healthy: bool = True
    last_flush_seconds: float = 0.012
    records_written: int = 120
    db_errors: int = 2
    db_up: bool = True


def test_scrape_time_values_from_engine_parts() -> None:
    health = SimpleNamespace(ready=True, reconnects=2, events=40)
    cache = type(
        "Cache", (), {"hits": 5, "misses": 1, "listening": True, "__len__": lambda self: 3}
    )()
    obs = Observability(
        dispatcher=SimpleNamespace(active=4), stream=SimpleNamespace(health=health), cache=cache
    )
    obs.register_cdr_stats(SimpleNamespace(stats=CdrStats()))
    obs.register_fallback_sync(SimpleNamespace(entries=12))
    got = samples(obs.metrics)
    expected = {
        "ivr_active_calls": 4,
        "ivr_ari_websocket_connected": 1,
        "ivr_ari_websocket_reconnects_total": 2,
        "ivr_ari_events_total": 40,
        "ivr_config_cache_hits_total": 5,
        "ivr_config_cache_misses_total": 1,
        "ivr_config_cache_entries": 3,
        "ivr_config_cache_listening": 1,
        "ivr_cdr_queue_depth": 7,
        "ivr_cdr_queue_capacity": 10000,
        "ivr_cdr_journal_records": 3,
        "ivr_cdr_journal_bytes": 2048,
        "ivr_cdr_journal_healthy": 1,
        "ivr_cdr_last_flush_seconds": 0.012,
        "ivr_cdr_records_written_total": 120,
        "ivr_cdr_db_errors_total": 2,
        "ivr_cdr_database_up": 1,
        "ivr_fallback_sync_entries": 12,
    }
    assert {name: got[(name, ())] for name in expected} == expected
    assert ("ivr_database_up", ()) not in got  # no probe ran yet
    health.ready = False
    obs.cdr.stats = {"queued": 9}  # a mapping with another spelling, most fields missing
    got = samples(obs.metrics)
    assert got[("ivr_ari_websocket_connected", ())] == 0.0
    assert got[("ivr_cdr_queue_depth", ())] == 9.0
    assert ("ivr_cdr_journal_bytes", ()) not in got


async def test_readiness_needs_ari_and_database_or_journal() -> None:
    health = SimpleNamespace(ready=True, state="connected", reconnects=0, last_error=None)
    obs = Observability(stream=SimpleNamespace(health=health))  # no database pool at all
    ready, details = await obs.readiness()
    assert not ready and details["database"]["reachable"] is False
    writer = SimpleNamespace(stats=CdrStats(journal_healthy=False))
    obs.register_cdr_stats(writer)
    ready, details = await obs.readiness()
    assert not ready and details["journal"]["healthy"] is False
    writer.stats = {"queue_depth": 0, "records_written": 5}  # no flag: a working writer
    ready, details = await obs.readiness()
    assert ready and details["journal"]["healthy"] is True
    health.ready = False
    ready, details = await obs.readiness()
    assert not ready and details["ari"]["connected"] is False


def test_planner_timer_observes_every_plan() -> None:
    obs = Observability()
    timed = obs.timed_planner(lambda a, b=1: a + b)
    assert timed(1, b=2) == 3 and timed(5) == 6
    assert samples(obs.metrics)[("ivr_plan_seconds_count", ())] == 2.0


async def test_event_loop_lag_is_sampled() -> None:
    obs = Observability(lag_interval=0.01, db_probe_interval=60)
    await obs.start()
    try:
        asyncio.get_running_loop().call_soon(time.sleep, 0.08)  # block the loop on purpose
        lag = await asyncio.wait_for(obs.next_lag_sample(), 2)
        assert lag >= 0.05
        got = samples(obs.metrics)
        assert got[("ivr_event_loop_lag_seconds", ())] == lag
        assert got[("ivr_event_loop_lag_distribution_seconds_count", ())] >= 1.0
    finally:
        await obs.stop()


def defined_series() -> set[str]:
    """Every series name the engine can expose."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(
            {
                family.name,
                f"{family.name}_total",
                f"{family.name}_bucket",
                f"{family.name}_count",
                f"{family.name}_sum",
            }
        )
    for spec in SCRAPED:
        names.update({spec.name, f"{spec.name}_total"})
    return names


def test_alerts_and_dashboard_use_only_defined_metrics() -> None:
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    exprs = [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    assert {r["alert"] for g in alerts["groups"] for r in g["rules"] if "alert" in r} >= {
        "IvrCallFailureRatioSpike",
        "IvrTenantAnswerRateDrop",
        "IvrAriDisconnected",
        "IvrCdrJournalGrowing",
        "IvrCdrQueueNearCapacity",
        "IvrEventLoopLag",
    }
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "ivr-engine.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\bivr_[a-z_]+", expr)}
    assert used and used <= defined_series(), used - defined_series()
    records = {r["record"] for g in alerts["groups"] for r in g["rules"] if "record" in r}
    used_records = {n for expr in exprs for n in re.findall(r"\bivr:[a-z_0-9:]+", expr)}
    assert used_records <= records


def test_cdr_writer_stats_are_read() -> None:
    from ivr_engine.store.cdr_writer import WriterStats

    obs = Observability()
    obs.register_cdr_stats(
        SimpleNamespace(
            stats=WriterStats(
                queue_depth=4,
                queue_capacity=50,
                journal_records=2,
                journal_bytes=512,
                journal_healthy=False,
                db_up=False,
                last_flush_seconds=0.02,
                records_written=10,
                records_journaled=2,
                db_errors=1,
            )
        )
    )
    got = samples(obs.metrics)
    assert {k[0]: v for k, v in got.items() if k[0].startswith("ivr_cdr_")} == {
        "ivr_cdr_queue_depth": 4,
        "ivr_cdr_queue_capacity": 50,
        "ivr_cdr_journal_records": 2,
        "ivr_cdr_journal_bytes": 512,
        "ivr_cdr_journal_healthy": 0,
        "ivr_cdr_database_up": 0,
        "ivr_cdr_last_flush_seconds": 0.02,
        "ivr_cdr_records_written_total": 10,
        "ivr_cdr_records_journaled_total": 2,
        "ivr_cdr_records_rejected_total": 0,
        "ivr_cdr_db_errors_total": 1,
    }
    assert not obs.journal_healthy()  # the writer's own flag
    obs.cdr.stats = WriterStats()
    assert obs.journal_healthy()
