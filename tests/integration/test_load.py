"""Importing a configuration document into Postgres: round trip, idempotence, atomicity,
the 24-hour target change rule and the 90-day quarantine of terminated numbers."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.checks import check_document
from ivr_engine.domain.config_doc import parse_document, resolve_all
from ivr_engine.domain.model import ConfigDocument
from ivr_engine.errors import ConfigError, ConflictError, ValidationError
from ivr_engine.store.config_repo import (
    export_document,
    fetch_all_number_configs,
    fetch_number_config,
)
from ivr_engine.store.loader import load_document

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
PIZZA = "05051234567"
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def sample_data() -> dict[str, Any]:
    """The sample configuration as plain data (a fresh copy each time)."""
    return load_yaml(SAMPLE.read_text(encoding="utf-8"))


def doc_of(data: dict[str, Any]) -> ConfigDocument:
    return parse_document(data, "test.yaml")


def pizza_number(data: dict[str, Any]) -> dict[str, Any]:
    return data["tenants"][0]["numbers"][0]


async def load(pool: asyncpg.Pool, data: dict[str, Any], **kwargs: Any):
    return await load_document(pool, doc_of(data), source="test.yaml", **kwargs)


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    tables = (
        "tenants",
        "virtual_numbers",
        "forward_targets",
        "target_changes",
        "caller_list_entries",
    )
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def test_configs_from_database_equal_resolved_document(pool: asyncpg.Pool) -> None:
    doc = doc_of(sample_data())
    await load_document(pool, doc, source="sample")
    stored = {c.number: c for c in await fetch_all_number_configs(pool)}
    expected = resolve_all(doc)
    assert set(stored) == set(expected)
    for number, config in stored.items():
        assert config.version > 0
        assert config == resolve_all(doc, version=config.version)[number]
    assert await fetch_number_config(pool, "05049999999") is None


async def test_export_resolves_like_the_document(pool: asyncpg.Pool) -> None:
    doc = doc_of(sample_data())
    await load_document(pool, doc, source="sample")
    exported = resolve_all(await export_document(pool))
    assert exported == resolve_all(doc)


def sample_numbers() -> int:
    """How many numbers the sample configuration declares."""
    return sum(len(t["numbers"]) for t in sample_data()["tenants"])


async def test_loading_twice_changes_nothing(pool: asyncpg.Pool) -> None:
    first = await load(pool, sample_data())
    assert first.changed and len(first.numbers_created) == sample_numbers()
    before = await counts(pool)
    versions = dict(await pool.fetch("SELECT number, version FROM virtual_numbers"))
    second = await load(pool, sample_data())
    assert not second.changed
    assert len(second.numbers_unchanged) == sample_numbers()
    assert await counts(pool) == before
    assert dict(await pool.fetch("SELECT number, version FROM virtual_numbers")) == versions


async def test_a_change_bumps_the_version(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data())
    before = (await fetch_number_config(pool, PIZZA)).version
    data = sample_data()
    pizza_number(data)["block_list"].append("010-4444-5555")
    report = await load(pool, data)
    assert report.numbers_updated == [PIZZA]
    after = await fetch_number_config(pool, PIZZA)
    assert after.version > before
    assert "01044445555" in after.block_list
    data["tenants"][0]["name"] = "강남피자 본점"
    await load(pool, data)
    renamed = await fetch_number_config(pool, PIZZA)
    assert renamed.version > after.version and renamed.tenant_name == "강남피자 본점"


async def test_an_error_applies_nothing(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data())
    before = await counts(pool)
    data = sample_data()
    pizza_number(data)["block_list"].append("010-4444-5555")  # would be applied first
    data["tenants"][1]["name"] = "홍대포차 2호점"  # would be applied too
    data["tenants"][0]["numbers"][2]["status"] = "active"  # refused: still quarantined
    with pytest.raises(ConflictError, match=r"test\.yaml: number 0504-222-3333"):
        await load(pool, data)
    assert await counts(pool) == before
    config = await fetch_number_config(pool, PIZZA)
    assert "01044445555" not in config.block_list
    assert (await fetch_number_config(pool, "05059876543")).tenant_name == "홍대포차"


def test_parse_errors_name_the_file_and_path() -> None:
    data = sample_data()
    pizza_number(data)["targets"][0]["ring_seconds"] = "long"
    with pytest.raises(ValidationError, match=r"test\.yaml: tenants\[0\]\.numbers\[0\]"):
        doc_of(data)


async def test_target_change_within_24h_is_refused_unless_forced(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data(), now=T0)
    data = sample_data()
    pizza_number(data)["targets"].reverse()
    await load(pool, data, now=T0 + timedelta(hours=30))  # first change: allowed
    back = sample_data()
    with pytest.raises(ConflictError, match=r"0505-123-4567.*--force-targets"):
        await load(pool, back, now=T0 + timedelta(hours=40))
    report = await load(pool, back, now=T0 + timedelta(hours=40), force_targets=True)
    assert [(n, c.forced) for n, c in report.target_changes] == [(PIZZA, True)]
    history = await pool.fetch(
        "SELECT kind, forced, changed_at FROM target_changes WHERE number = $1 ORDER BY changed_at",
        PIZZA,
    )
    assert [(r["kind"], r["forced"]) for r in history] == [
        ("assign", False),
        ("change", False),
        ("change", True),
    ]
    assert history[-1]["changed_at"] == T0 + timedelta(hours=40)
    config = await fetch_number_config(pool, PIZZA)
    assert [t.number for t in config.targets] == ["01011112222", "023334444"]


async def test_change_after_24h_and_ring_time_changes_are_allowed(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data(), now=T0)
    data = sample_data()
    pizza_number(data)["targets"].reverse()
    await load(pool, data, now=T0 + timedelta(hours=1))  # first assignment is no change
    ring = copy.deepcopy(data)
    pizza_number(ring)["targets"][0]["ring_seconds"] = 40
    await load(pool, ring, now=T0 + timedelta(hours=2))  # same phones: never refused
    back = sample_data()
    await load(pool, back, now=T0 + timedelta(hours=25, minutes=1))
    kinds = await pool.fetch("SELECT kind FROM target_changes WHERE number = $1 ORDER BY id", PIZZA)
    assert [r["kind"] for r in kinds] == ["assign", "change", "ring_time", "change"]


async def test_terminated_number_is_quarantined_for_90_days(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data(), now=T0)
    data = sample_data()
    data["tenants"][0]["numbers"][2]["status"] = "active"
    with pytest.raises(ConflictError, match=r"0504-222-3333.*cannot be issued again"):
        await load(pool, data, now=T0 + timedelta(days=89))
    moved = sample_data()
    entry = moved["tenants"][0]["numbers"].pop(2)
    moved["tenants"][1]["numbers"].append(entry)
    with pytest.raises(ConflictError, match="0504-222-3333"):
        await load(pool, moved, now=T0 + timedelta(days=30))
    await load(pool, data, now=T0 + timedelta(days=91))
    config = await fetch_number_config(pool, "05042223333")
    assert config is not None and config.status == "active"


async def test_active_number_cannot_move_to_another_tenant(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data())
    data = sample_data()
    entry = data["tenants"][0]["numbers"].pop(1)
    data["tenants"][1]["numbers"].append(entry)
    with pytest.raises(ConflictError, match="0507-1234-5678: belongs to tenant gangnam-pizza"):
        await load(pool, data)


async def test_numbers_missing_from_the_file_are_left_alone(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data())
    data = sample_data()
    del data["tenants"][0]["numbers"][1]
    report = await load(pool, data)
    assert report.left_alone == [("gangnam-pizza", "050712345678")]
    assert any("0507-1234-5678" in line and "left unchanged" in line for line in report.lines())
    assert await fetch_number_config(pool, "050712345678") is not None


def _menu_case(menus: list[dict[str, Any]], **number: Any) -> dict[str, Any]:
    """The sample with its first number turned into a menu number."""
    data = sample_data()
    entry = pizza_number(data)
    entry.update(menu="a", menus=menus, **number)
    return data


def _item(key: str, **action: Any) -> dict[str, Any]:
    return {"key": key, "label": f"항목 {key}", **action}


def _long_prompt(data: dict[str, Any]) -> dict[str, Any]:
    pizza_number(data)["prompts"] = {"greeting": {"text": "가" * 2000}}
    return data


REFUSED = {
    "long prompt": lambda: _long_prompt(sample_data()),
    "menu loop": lambda: _menu_case(
        [
            {"id": "a", "items": [_item("1", repeat=True)], "after_last": {"menu": "b"}},
            {"id": "b", "items": [_item("1", menu="a")]},
        ]
    ),
    "undefined menu": lambda: _menu_case([{"id": "a", "items": [_item("1", menu="nowhere")]}]),
    "undefined queue": lambda: _menu_case([{"id": "a", "items": [_item("1", queue="nowhere")]}]),
    "duplicate key": lambda: _menu_case(
        [{"id": "a", "items": [_item("1", forward=True), _item("1", repeat=True)]}]
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_load_refuses_what_check_rejects(pool: asyncpg.Pool, case: str) -> None:
    await load(pool, sample_data())
    before = await counts(pool)
    settings_before = await pool.fetch("SELECT number, settings FROM virtual_numbers ORDER BY 1")
    data = REFUSED[case]()
    doc = doc_of(data)
    errors = [str(f) for f in check_document(doc, today=T0.date()) if f.severity == "error"]
    assert errors, "check rejects the case"
    with pytest.raises(ConfigError) as refused:
        await load_document(pool, doc, source="test.yaml")
    message = str(refused.value)
    assert message.startswith("test.yaml: refused")
    for line in errors:
        assert line in message.splitlines()
    assert await counts(pool) == before
    after = await pool.fetch("SELECT number, settings FROM virtual_numbers ORDER BY 1")
    assert after == settings_before


async def test_load_reports_warnings(pool: asyncpg.Pool) -> None:
    data = sample_data()
    pizza_number(data)["free_pass"] = ["010-9999-0000"]  # also on its block list
    report = await load(pool, data)
    assert [f.severity for f in report.warnings] == ["warning"]
    assert any("block list wins" in line for line in report.lines())


async def test_dry_run_reports_like_a_load_and_notifies_nothing(pool: asyncpg.Pool) -> None:
    await load(pool, sample_data(), now=T0)
    data = sample_data()
    pizza_number(data)["targets"].reverse()
    heard: list[str] = []

    def on_notify(*args: Any) -> None:
        heard.append(args[3])

    listener = await pool.acquire()
    try:
        await listener.add_listener("ivr_config", on_notify)
        before = await counts(pool)
        versions = dict(await pool.fetch("SELECT number, version FROM virtual_numbers"))
        report = await load(pool, data, now=T0 + timedelta(days=2), dry_run=True)
        assert report.dry_run and report.numbers_updated == [PIZZA]
        assert [n for n, _ in report.target_changes] == [PIZZA]
        await asyncio.sleep(0.3)
        assert heard == []  # the rolled-back import sent no notification
        assert await counts(pool) == before
        assert dict(await pool.fetch("SELECT number, version FROM virtual_numbers")) == versions
        real = await load(pool, data, now=T0 + timedelta(days=2))
        assert real.numbers_updated == report.numbers_updated
        assert real.target_changes == report.target_changes
        await asyncio.sleep(0.3)
        assert heard  # the real one does
    finally:
        await listener.remove_listener("ivr_config", on_notify)
        await pool.release(listener)
