"""The command line against a real database: migrate, load, plan (the issue's table),
plan --week and check, through the real entry point ``ivr_engine.cli.main``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import asyncpg
import pytest
import yaml

from ivr_engine.cli import main
from ivr_engine.commands.db import read_document
from ivr_engine.config_yaml import load_yaml
from ivr_engine.settings import Settings

SAMPLE = str(Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml")
SAMPLE_NUMBERS = sum(len(t.numbers) for t in read_document(SAMPLE).tenants)

# number, caller, at (Asia/Seoul), state, outcome
TABLE = [
    ("0505-123-4567", "010-2000-3000", "2026-11-20T12:00", "open", "forward"),
    ("0505-123-4567", "010-2000-3000", "2026-11-20T15:30", "lunch", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-11-20T23:30", "closed", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-11-22T12:00", "closed", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-12-25T12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2027-02-08T12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2027-06-15T12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-12-31T12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-11-25T11:30", "block_period", "announce"),
    ("0505-123-4567", "+82 10-9999-0000", "2026-11-20T12:00", "blocked_caller", "announce"),
    ("0505-123-4567", "anonymous", "2026-11-20T12:00", "blocked_caller", "announce"),
    ("0505-123-4567", "010-5555-6666", "2026-11-20T23:30", "closed", "forward"),
    ("0507-1234-5678", "010-2000-3000", "2026-11-20T12:00", "paused", "announce"),
    ("0504-222-3333", "010-2000-3000", "2026-11-20T12:00", "unallocated", "announce"),
]


@pytest.fixture
def cli_env(settings_for_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)
    return settings_for_db


@pytest.fixture
def loaded(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> Settings:
    assert main(["load", SAMPLE]) == 0
    assert f"{SAMPLE_NUMBERS} number(s) created" in capsys.readouterr().out
    return cli_env


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_json_reproduces_the_table(
    loaded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    for number, caller, at, state, outcome in TABLE:
        plan = run_json(
            capsys, "plan", "--number", number, "--caller", caller, "--at", at, "--json"
        )
        row = (number, caller, at)
        assert (plan["state"], plan["outcome"]) == (state, outcome), row
        assert plan["reasons"] and all(isinstance(r, str) for r in plan["reasons"]), row
        actions = [s["action"] for s in plan["steps"]]
        assert ("dial" in actions) == (outcome == "forward"), row


def test_open_call_has_coloring_whisper_and_ordered_targets(
    loaded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = run_json(
        capsys,
        "plan",
        "--number",
        "0505-123-4567",
        "--caller",
        "010-2000-3000",
        "--at",
        "2026-11-20T12:00:00+09:00",
        "--json",
    )
    dial = next(s for s in plan["steps"] if s["action"] == "dial")
    assert [t["number"] for t in dial["targets"]] == ["01011112222", "023334444"]
    assert [t["ring_seconds"] for t in dial["targets"]] == [20, 15]
    assert dial["strategy"] == "sequential"
    assert dial["coloring"] == {"text": "전화 주셔서 감사합니다. 강남피자입니다."}
    assert dial["whisper"] == {"text": "배달앱 주문 전화입니다."}


def test_at_with_an_offset_is_converted(
    loaded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # 03:00 UTC is 12:00 in Seoul (open); 12:00 UTC would be 21:00 (open), 15:00 UTC 00:00.
    utc_noon_seoul = run_json(
        capsys,
        "plan",
        "--number",
        "0505-123-4567",
        "--caller",
        "010-2000-3000",
        "--at",
        "2026-11-20T06:30:00+00:00",
        "--json",
    )
    assert utc_noon_seoul["state"] == "lunch"  # 15:30 in Seoul


def test_load_twice_is_idempotent(loaded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", SAMPLE]) == 0
    assert f"0 number(s) created, 0 updated, {SAMPLE_NUMBERS} unchanged" in capsys.readouterr().out


def test_load_errors_name_file_and_path(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_yaml(Path(SAMPLE).read_text(encoding="utf-8"))
    data["tenants"][0]["numbers"][0]["strategy"] = "random"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["load", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: tenants[0].numbers[0].strategy" in err


def test_target_change_refused_then_forced(
    loaded: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_yaml(Path(SAMPLE).read_text(encoding="utf-8"))
    data["tenants"][0]["numbers"][0]["targets"].reverse()
    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["load", str(first)]) == 0  # a change, but the first one
    capsys.readouterr()
    assert main(["load", SAMPLE]) == 1
    assert "0505-123-4567" in capsys.readouterr().err
    assert main(["load", SAMPLE, "--force-targets"]) == 0
    assert "forward targets of 0505-123-4567: change (forced)" in capsys.readouterr().out


def test_plan_without_at_is_now_in_the_tenant_zone(
    loaded: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVR_TIMEZONE", "UTC")  # the engine's zone is not the tenant's
    before = datetime.now(UTC).replace(microsecond=0)
    plan = run_json(
        capsys, "plan", "--number", "0505-123-4567", "--caller", "010-2000-3000", "--json"
    )
    after = datetime.now(UTC)
    at = datetime.fromisoformat(plan["at"])
    assert before <= at <= after
    assert at.utcoffset() == timedelta(hours=9)  # the tenant's Asia/Seoul
    assert plan["state"] in {"open", "lunch", "closed", "holiday", "block_period"}
    assert main(["plan", "--number", "0505-123-4567", "--caller", "010-2000-3000"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("at ") and first.endswith("+09:00")


def test_plan_week_prints_a_timeline(loaded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--number", "0505-123-4567", "--week", "--from", "2026-11-23"]) == 0
    out = capsys.readouterr().out
    assert "Mon 23 Nov" in out and "Sun 29 Nov" in out and "Mon 30 Nov" not in out
    assert "lunch" in out and "block_period" in out


def test_plan_week_json(loaded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    week = run_json(
        capsys, "plan", "--number", "0505-123-4567", "--week", "--from", "2026-11-23", "--json"
    )
    assert (week["number"], week["tenant"], week["timezone"]) == (
        "0505-123-4567",
        "gangnam-pizza",
        "Asia/Seoul",
    )
    assert week["from"] == "2026-11-23"
    periods = week["periods"]
    assert periods[0]["start"] == "2026-11-23T00:00:00+09:00"
    assert periods[-1]["end"] == "2026-11-30T00:00:00+09:00"
    assert all(a["end"] == b["start"] for a, b in pairwise(periods))
    states = {p["state"] for p in periods}
    assert {"open", "lunch", "closed", "block_period"} <= states
    lunch = next(p for p in periods if p["state"] == "lunch")
    assert lunch["start"] == "2026-11-23T15:00:00+09:00" and lunch["outcome"] == "announce"
    assert all(p["hears"] and p["reason"] for p in periods)


def test_check_database_and_file(
    loaded: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0  # what the database holds: the sample, no errors
    assert "0 error(s)" in capsys.readouterr().out
    # A new tenant whose target is a virtual number that only the database knows: a loop.
    looping = {
        "tenants": [
            {
                "id": "new-shop",
                "numbers": [
                    {
                        "number": "0505-555-0000",
                        "targets": [{"number": "0505-987-6543"}],
                        "prompts": {"greeting": {"audio": "greetings/missing.wav"}},
                    }
                ],
            }
        ]
    }
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(looping), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error: tenants[0].numbers[0].targets[0]" in out
    assert "greetings/missing.wav" in out
    (tmp_path / "greetings").mkdir()
    (tmp_path / "greetings" / "missing.wav").write_bytes(b"RIFF")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "missing.wav" not in out  # found next to the file now
    assert main(["load", str(path)]) == 1  # load refuses what check rejects, same message
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: refused, 1 error(s), nothing loaded")
    finding = next(line for line in out.splitlines() if line.startswith("error: "))
    assert finding in err.splitlines()
    assert main(["check"]) == 0  # nothing of the file reached the database
    # A loop the database only gets once a second file makes the target one of our numbers.
    looping["tenants"][0]["numbers"][0]["targets"] = [{"number": "0505-555-0001"}]
    del looping["tenants"][0]["numbers"][0]["prompts"]
    path.write_text(yaml.safe_dump(looping), encoding="utf-8")
    assert main(["load", str(path)]) == 0
    looping["tenants"][0]["numbers"] = [{"number": "0505-555-0001", "targets": ["010-1234-5678"]}]
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(looping), encoding="utf-8")
    assert main(["load", str(other)]) == 0
    capsys.readouterr()
    assert main(["check"]) == 1
    tenants = len(read_document(SAMPLE).tenants)
    assert f"error: tenants[{tenants}].numbers[0].targets[0]" in capsys.readouterr().out


def test_commands_need_a_migrated_database(
    monkeypatch: pytest.MonkeyPatch, empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    assert main(["load", SAMPLE]) == 1
    assert "ivr-engine migrate" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    assert "applied 0001_init.sql" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["check", "load"])
def test_an_impossible_holiday_is_an_error_naming_file_path_and_value(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    text = Path(SAMPLE).read_text(encoding="utf-8")
    assert "{date: 2026-12-31," in text  # the first holiday of the first number, unquoted
    bad = tmp_path / "sample.yaml"
    bad.write_text(text.replace("{date: 2026-12-31,", "{date: 2026-02-30,"), encoding="utf-8")
    assert main([command, str(bad)]) == 1
    err = capsys.readouterr().err
    assert (
        f'error: {bad}: tenants[0].numbers[0].holidays[0].date: "2026-02-30" is not a date' in err
    )
    assert "Traceback" not in err


async def _db_state(url: str) -> dict[str, list[tuple]]:
    """Every configuration row (versions included), to show a dry run leaves them as they were."""
    conn = await asyncpg.connect(url)
    try:
        tables = (
            "tenants",
            "virtual_numbers",
            "forward_targets",
            "target_changes",
            "caller_list_entries",
        )
        return {
            t: sorted(tuple(r.values()) for r in await conn.fetch(f"SELECT * FROM {t}"))
            for t in tables
        }
    finally:
        await conn.close()


def test_dry_run_reports_the_change_and_writes_nothing(
    loaded: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_yaml(Path(SAMPLE).read_text(encoding="utf-8"))
    pizza = data["tenants"][0]["numbers"][0]
    pizza["targets"].reverse()
    pizza["whisper"] = {"text": "드라이런 확인용 새 안내입니다."}
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = asyncio.run(_db_state(loaded.database_url))
    assert main(["load", str(changed), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"0 number(s) created, 1 updated, {SAMPLE_NUMBERS - 1} unchanged" in out[0]
    assert "  0505-123-4567: would be updated" in out
    assert (
        "  forward targets of 0505-123-4567: change: 010-1111-2222 (20 s), 02-333-4444 (15 s)"
        " -> 02-333-4444 (15 s), 010-1111-2222 (20 s)"
    ) in out
    assert any("드라이런 확인용 새 안내입니다." in line for line in out)  # a prompt to build
    assert out[-1] == "dry run: nothing was written"
    assert asyncio.run(_db_state(loaded.database_url)) == before
    # The real load does what the dry run said, and a dry run sees the 24-hour lock.
    assert main(["load", str(changed)]) == 0
    capsys.readouterr()
    assert main(["load", SAMPLE, "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert "0505-123-4567" in captured.err and "24" in captured.err
    assert captured.out.strip() == "dry run: the load would be refused; nothing was written"


def test_dry_run_of_a_file_with_an_error_exits_1_with_the_check_message(
    loaded: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_yaml(Path(SAMPLE).read_text(encoding="utf-8"))
    data["tenants"][0]["numbers"][0]["whisper"] = {"text": "가" * 300}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    finding = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("error: ")
    )
    before = asyncio.run(_db_state(loaded.database_url))
    assert main(["load", str(bad), "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {bad}: refused, 1 error(s), nothing loaded")
    assert finding in captured.err.splitlines()
    assert "nothing was written" in captured.out
    assert asyncio.run(_db_state(loaded.database_url)) == before
