"""The alert rules and the dashboard under ``deploy/`` only use metrics the engine exports.

Every PromQL expression of ``deploy/prometheus/*.yml`` and ``deploy/grafana/*.json`` is
scanned for metric names (identifiers starting with ``ivr_``; string literals left out), and
each must be a series of a running engine's registry (real Postgres, the simulator): a
gauge's name, a counter's ``_total``, a histogram's ``_bucket`` / ``_sum`` / ``_count``. An
alert on a series nobody exports can never fire.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from ivr_engine.commands.db import read_document
from ivr_engine.domain.trace import CallTrace
from ivr_engine.service import running_engine
from ivr_engine.settings import AgiSettings, AmiSettings, AriSettings, PromptSettings, Settings
from ivr_engine.sim import Behaviour
from ivr_engine.store.loader import load_document
from tests.acceptance.conftest import built_sounds, shifted_clock  # noqa: F401  (fixture)
from tests.fixtures.sim import SimFactory
from tests.integration.test_http_api import FIRST, GANGNAM, OPEN, SAMPLE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_METRIC = re.compile(r"(?<![\w:])ivr_[A-Za-z0-9_]*")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}


def metric_names(expr: str) -> set[str]:
    """The ``ivr_*`` metric names a PromQL expression reads (not label values, not
    recording-rule names such as ``ivr:calls:rate5m``)."""
    return set(_METRIC.findall(_STRING.sub('""', expr)))


def rule_expressions(path: Path) -> Iterator[str]:
    """Every ``expr`` of a Prometheus rule file."""
    doc = yaml.safe_load(path.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            yield str(rule["expr"])


def dashboard_expressions(node: Any) -> Iterator[str]:
    """Every PromQL string of a Grafana dashboard: targets' ``expr``, variables' ``query``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query", "definition") and isinstance(value, str):
                yield value
            else:
                yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_expressions(item)


def referenced() -> dict[str, set[str]]:
    """metric name -> the deploy files that use it."""
    uses: dict[str, set[str]] = {}
    sources: list[tuple[Path, list[str]]] = [
        (p, list(rule_expressions(p))) for p in sorted((DEPLOY / "prometheus").glob("*.y*ml"))
    ]
    sources += [
        (p, list(dashboard_expressions(json.loads(p.read_text()))))
        for p in sorted((DEPLOY / "grafana").glob("*.json"))
    ]
    for path, exprs in sources:
        assert exprs, f"{path}: no expressions found"
        for expr in exprs:
            for name in metric_names(expr):
                uses.setdefault(name, set()).add(path.name)
    return uses


def exported(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry can expose, with the suffixes of its family's type
    (families whose labelled children do not exist yet count too)."""
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def test_metric_names_are_read_from_expressions() -> None:
    expr = (
        'sum(rate(ivr_calls_total{job="ivr-engine", result=~"ivr_x|failed"}[5m]))'
        " / ivr:tenant_answer_ratio:rate30m and histogram_quantile(0.9, ivr_plan_seconds_bucket)"
    )
    assert metric_names(expr) == {"ivr_calls_total", "ivr_plan_seconds_bucket"}


async def test_every_metric_of_the_alerts_and_the_dashboard_is_exported(
    db_url: str,
    sim_factory: SimFactory,
    built_sounds: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    sim = await sim_factory(
        sounds_dirs=(str(built_sounds), str(ROOT / "sounds"), str(ROOT / "sounds" / "sim"))
    )
    settings = Settings(  # an engine as on a PBX: ARI and AMI
        database_url=db_url,
        http_port=0,
        data_dir=str(tmp_path),
        agi=AgiSettings(port=0),
        ari=AriSettings(url=f"http://127.0.0.1:{sim.ari_port}/ari"),
        ami=AmiSettings(host="127.0.0.1", port=sim.ami_port),
        prompts=PromptSettings(sounds_dir=str(built_sounds)),
    )
    async with running_engine(settings, drain_timeout=2) as engine:
        await load_document(engine.db.pool, read_document(SAMPLE), source=str(SAMPLE))
        engine.cache.clear()
        engine.env.clock = shifted_clock(OPEN, sim.config.speed)
        traces: asyncio.Queue[CallTrace] = asyncio.Queue()
        engine.dispatcher.on_session.append(traces)
        sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=4.0))
        call = await sim.place_call(to=GANGNAM, caller="01020003000")  # one call flushed
        await call.wait_ended(10)
        await asyncio.wait_for(traces.get(), 10)
        await engine.cdr.flush()
        assert engine.observability is not None
        await engine.observability.check_database()  # ivr_database_up: once a probe ran
        uses = referenced()
        assert "ivr_cdr_journal_healthy" in uses and "ivr_cdr_queue_capacity" in uses
        have = exported(engine.metrics.registry)
        text = engine.metrics.render().decode()
    missing = {name: sorted(files) for name, files in uses.items() if name not in have}
    assert missing == {}
    assert "ivr_cdr_journal_healthy 1.0" in text
    assert "ivr_cdr_queue_capacity 50000.0" in text
