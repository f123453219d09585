"""Static checks: one table row per rule, plus the sample being clean."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.checks import Finding, check_document
from ivr_engine.domain.config_doc import parse_document

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
TODAY = date(2026, 11, 1)
TARGETS = [{"number": "010-1111-2222"}]


def doc_with(tenant: dict[str, Any] | None = None, **number: Any) -> Any:
    """A one-tenant document whose single number has the given keys (targets by default)."""
    entry = {"number": "0505-123-4567", "targets": TARGETS, **number}
    data = {"tenants": [{"id": "t", "name": "T", **(tenant or {}), "numbers": [entry]}]}
    return parse_document(data)


def findings(doc: Any, **kwargs: Any) -> list[Finding]:
    return check_document(doc, today=kwargs.pop("today", TODAY), **kwargs)


def test_sample_is_clean() -> None:
    doc = parse_document(load_yaml(SAMPLE.read_text(encoding="utf-8")))
    assert findings(doc) == []


def test_a_clean_number_has_no_findings() -> None:
    assert findings(doc_with(schedule={"open": {"mon-fri": ["09:00-18:00"]}})) == []


@pytest.mark.parametrize(
    ("number", "tenant", "severity", "path", "message"),
    [
        (
            {"schedule": {"open": {"mon": ["09:00-12:00", "11:00-13:00"]}}},
            None,
            "error",
            "tenants[0].numbers[0].schedule.open.mon",
            "mon 09:00-12:00 overlaps mon 11:00-13:00 on mon",
        ),
        (
            {"schedule": {"open": {"fri": ["22:00-03:00"], "sat": ["02:00-05:00"]}}},
            None,
            "error",
            "tenants[0].numbers[0].schedule.open.sat",
            "fri 22:00-03:00 overlaps sat 02:00-05:00 on sat",
        ),
        (
            {"schedule": {"open": {"mon": ["10:00-10:00"]}}},
            None,
            "warning",
            "tenants[0].numbers[0].schedule.open.mon",
            "10:00-10:00 covers 24 hours",
        ),
        (
            {"schedule": {"open": {"mon": ["09:00-12:00"]}, "lunch": {"mon": ["12:00-13:00"]}}},
            None,
            "warning",
            "tenants[0].numbers[0].schedule.lunch.mon",
            "outside open hours",
        ),
        (
            {"schedule": {"open": {"mon": ["09:00-12:00"]}, "lunch": {"tue": ["12:00-13:00"]}}},
            None,
            "warning",
            "tenants[0].numbers[0].schedule.lunch.tue",
            "outside open hours",
        ),
        (
            {
                "schedule": {
                    "open": {"mon": ["09:00-12:00"]},
                    "block_periods": [{"name": "m", "days": "sun", "time": "10:00-11:00"}],
                }
            },
            None,
            "warning",
            "tenants[0].numbers[0].schedule.block_periods",
            "block period m 10:00-11:00 on sun is outside open hours",
        ),
        (
            {"prompts": {"greeting": {"text": "가" * 241}}},
            None,
            "error",
            "tenants[0].numbers[0].prompts.greeting",
            "241 characters; at most 240",
        ),
        (
            {"coloring": {"closed": {"text": "x" * 300}}},
            None,
            "error",
            "tenants[0].numbers[0].prompts.coloring_closed",
            "300 characters",
        ),
        (
            {"holidays": [{"date": "2026-12-31", "name": "h", "prompt": {"text": "y" * 250}}]},
            None,
            "error",
            "tenants[0].numbers[0].holidays[0].prompt",
            "250 characters",
        ),
        (
            {},
            {"prompts": {"lunch": {"audio": "missing.wav"}}},
            "error",
            "tenants[0].prompts.lunch",
            "audio file 'missing.wav' does not exist",
        ),
        (
            {"targets": [{"number": "0505-123-4567"}]},
            None,
            "error",
            "tenants[0].numbers[0].targets[0]",
            "0505-123-4567 is one of our own virtual numbers",
        ),
        (
            {"block_list": ["010-5555-6666"], "free_pass": ["010-5555-6666"]},
            None,
            "warning",
            "tenants[0].numbers[0]",
            "caller 010-55**-66** is on both the block list",
        ),
        (
            {"free_pass": ["010-5555-6666"]},
            {"block_list": ["010-5555-6666"]},
            "warning",
            "tenants[0].numbers[0]",
            "on both the block list and the free pass",
        ),
        (
            {},
            {"block_list": ["010-5555-6666"], "free_pass": ["010-5555-6666"]},
            "warning",
            "tenants[0]",
            "on both the block list and the free pass",
        ),
        (
            {"status": "terminated"},
            None,
            "warning",
            "tenants[0].numbers[0]",
            "terminated number has forward targets",
        ),
        (
            {"targets": []},
            None,
            "warning",
            "tenants[0].numbers[0]",
            "active number has no forward target",
        ),
        (
            {"number": "070-1234-5678"},
            None,
            "warning",
            "tenants[0].numbers[0].number",
            "070-1234-5678 is not a 050 virtual number",
        ),
    ],
)
def test_rules(
    number: dict[str, Any], tenant: dict[str, Any] | None, severity: str, path: str, message: str
) -> None:
    found = findings(doc_with(tenant, **number), file_exists=lambda p: p != "missing.wav")
    assert any(f.severity == severity and f.path == path and message in f.message for f in found), (
        found
    )


def test_a_target_on_another_documents_number_is_a_loop() -> None:
    doc = doc_with(targets=[{"number": "0507-1111-2222"}])
    assert findings(doc) == []
    looped = findings(doc, other_virtual_numbers=frozenset({"050711112222"}))
    assert [f.path for f in looped] == ["tenants[0].numbers[0].targets[0]"]


def test_tenant_level_targets_are_checked_for_loops() -> None:
    doc = doc_with({"targets": [{"number": "0505-123-4567"}]})
    assert any(f.path == "tenants[0].targets[0]" for f in findings(doc))


def test_audio_present_is_fine() -> None:
    doc = doc_with(prompts={"greeting": {"audio": "hello.wav"}})
    seen: list[str] = []
    assert findings(doc, file_exists=lambda p: seen.append(p) or True) == []
    assert seen == ["hello.wav"]


def test_duplicate_numbers() -> None:
    data = {
        "tenants": [
            {"id": "a", "numbers": [{"number": "0505-123-4567", "targets": TARGETS}]},
            {"id": "b", "numbers": [{"number": "05051234567", "targets": TARGETS}]},
        ]
    }
    found = findings(parse_document(data))
    assert (
        Finding(
            "error",
            "tenants[1].numbers[0].number",
            "0505-123-4567 is already declared at tenants[0].numbers[0].number",
        )
        in found
    )


def test_national_calendar_not_known_for_next_year() -> None:
    doc = doc_with({"national_holidays": "KR"})
    assert findings(doc) == []
    late = findings(doc, today=date(2100, 6, 1))
    assert late == [
        Finding(
            "warning",
            "tenants[0].national_holidays",
            "the national calendar of KR is not known for 2101 (holidays such "
            "as lunar New Year would be missed)",
        )
    ]


def test_every_finding_is_reported_not_just_the_first() -> None:
    doc = doc_with(
        prompts={"greeting": {"text": "x" * 241}, "lunch": {"text": "y" * 241}},
        block_list=["010-5555-6666"],
        free_pass=["010-5555-6666"],
    )
    assert len(findings(doc)) == 3
    assert str(findings(doc)[0]).startswith("error: tenants[0].numbers[0].prompts.greeting: ")
