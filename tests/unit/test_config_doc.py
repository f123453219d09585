"""The declarative format: parsing, errors with paths, the round trip and resolution."""

import copy
import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import (
    document_to_data,
    parse_document,
    resolve,
    resolve_all,
    settings_from_data,
    settings_to_data,
)
from ivr_engine.domain.model import (
    CallerIdMode,
    ForwardTarget,
    Holiday,
    Interval,
    NumberEntry,
    NumberSettings,
    NumberStatus,
    Prompt,
    PromptKind,
    Strategy,
    TenantConfig,
)
from ivr_engine.errors import ValidationError

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"


def sample_data() -> dict[str, Any]:
    return load_yaml(SAMPLE.read_text(encoding="utf-8"))


def minimal(**number: object) -> dict[str, Any]:
    """A one-tenant, one-number document with the given number keys."""
    return {
        "tenants": [{"id": "t", "name": "T", "numbers": [{"number": "0505-123-4567", **number}]}]
    }


def parse_error(data: object) -> str:
    with pytest.raises(ValidationError) as info:
        parse_document(data, "sample.yaml")
    return str(info.value)


def test_sample_parses_with_normalised_numbers() -> None:
    doc = parse_document(sample_data(), "sample.yaml")
    pizza = doc.tenants[0]
    assert (pizza.id, pizza.name, pizza.timezone) == ("gangnam-pizza", "강남피자", "Asia/Seoul")
    first = pizza.numbers[0]
    assert first.number == "05051234567"
    assert first.settings.targets == (
        ForwardTarget("01011112222", 20),
        ForwardTarget("023334444", 15),
    )
    assert first.settings.block_list == frozenset({"01099990000"})
    assert first.settings.free_pass == frozenset({"01055556666"})
    schedule = first.settings.schedule
    assert schedule is not None
    assert schedule.open_on(4) == (Interval(time(11), time(15)), Interval(time(16), time(22)))
    assert schedule.open_on(5) == (Interval(time(11), time(23)),)
    assert schedule.open_on(6) == ()
    assert schedule.lunch_on(0) == (Interval(time(15), time(16)),)
    assert schedule.block_periods[0].days == frozenset({2})
    assert first.settings.holidays == (
        Holiday(12, 31, "송년 휴무", year=2026),
        Holiday(6, 15, "창립기념일"),
    )
    assert dict(first.settings.prompts or ())[PromptKind.COLORING_OPEN].text is not None
    assert [e.settings.status for e in pizza.numbers[1:]] == [
        NumberStatus.PAUSED,
        NumberStatus.TERMINATED,
    ]


def test_round_trip_through_json() -> None:
    doc = parse_document(sample_data(), "sample.yaml")
    data = json.loads(json.dumps(document_to_data(doc)))
    assert parse_document(data) == doc
    assert document_to_data(parse_document(data)) == data


def test_round_trip_of_every_field() -> None:
    data = minimal(
        label="main",
        status="active",
        strategy="simultaneous",
        caller_id="virtual_number",
        targets=["010-1111-2222", {"number": "+82 10 3333 4444", "ring_seconds": 45}],
        schedule={
            "open": {"daily": "00:00-24:00", "fri-sat": ["22:00-02:00"]},
            "lunch": {"weekdays": [{"start": 720, "end": "13:00"}]},
            "block_periods": [{"name": "clean", "days": "sun", "time": "05:00-06:00"}],
        },
        holidays=[
            {"date": date(2026, 1, 2), "name": "a", "prompt": {"audio": "a.wav"}},
            {"date": "02-29", "name": "leap", "yearly": True},
        ],
        national_holidays=False,
        block_list=["02-333-4444"],
        free_pass=[],
        block_anonymous=False,
        answer_before_announcement=True,
        max_talk_seconds=60,
        prompts={"greeting": {"text": "hi"}, "paused": "closed for now"},
        coloring={"lunch": {"text": "lunch tune"}},
        whisper={"audio": "custom/whisper"},
    )
    doc = parse_document(data)
    settings = doc.tenants[0].numbers[0].settings
    assert settings.national_holidays == ""
    assert settings.targets == (ForwardTarget("01011112222"), ForwardTarget("01033334444", 45))
    assert settings.schedule is not None
    assert settings.schedule.lunch_on(0) == (Interval(time(12), time(13)),)
    assert settings.schedule.open_on(4) == (Interval(time(0), time(0)), Interval(time(22), time(2)))
    assert dict(settings.prompts or ())[PromptKind.PAUSED] == Prompt(text="closed for now")
    back = json.loads(json.dumps(document_to_data(doc)))
    assert parse_document(back) == doc


def test_settings_layer_round_trip() -> None:
    settings = NumberSettings(
        status=NumberStatus.PAUSED,
        strategy=Strategy.SEQUENTIAL,
        caller_id=CallerIdMode.CALLER,
        block_anonymous=True,
        prompts=((PromptKind.WHISPER, Prompt(text="w")),),
        block_list=frozenset({"01099990000"}),
    )
    data = settings_to_data(settings)
    assert data["status"] == "paused"
    assert "targets" not in data
    assert settings_from_data(json.loads(json.dumps(data))) == settings
    assert settings_from_data({}) == NumberSettings()


def test_settings_from_data_names_the_path() -> None:
    with pytest.raises(ValidationError, match=r"^numbers/7\.strategy: \"random\" is not one of"):
        settings_from_data({"strategy": "random"}, "numbers/7")
    with pytest.raises(ValidationError, match="unknown key 'colour'"):
        settings_from_data({"colour": "red"})


def test_coloring_text_alone_means_every_state() -> None:
    doc = parse_document(minimal(coloring={"text": "tune"}))
    kinds = dict(doc.tenants[0].numbers[0].settings.prompts or ())
    assert {k for k in kinds} == {
        PromptKind.COLORING_OPEN,
        PromptKind.COLORING_LUNCH,
        PromptKind.COLORING_CLOSED,
        PromptKind.COLORING_HOLIDAY,
    }


def test_unquoted_times_from_yaml_are_understood() -> None:
    data = load_yaml("""
tenants:
  - id: t
    numbers:
      - number: 0505-123-4567
        schedule:
          open:
            mon: [{start: 11:00, end: 15:30}]
""")
    doc = parse_document(data)
    schedule = doc.tenants[0].numbers[0].settings.schedule
    assert schedule is not None
    assert schedule.open_on(0) == (Interval(time(11), time(15, 30)),)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            minimal(schedule={"open": {"mon-fri": ["11:00-15:00", "16:00-25:00"]}}),
            'sample.yaml: tenants[0].numbers[0].schedule.open.mon-fri[1]: "16:00-25:00" is not '
            "a time interval HH:MM-HH:MM",
        ),
        (
            minimal(colour="red"),
            "sample.yaml: tenants[0].numbers[0].colour: unknown key 'colour' (known keys: number, "
            "label, status",
        ),
        (
            minimal(targets=[{"number": "010-1111-222x"}]),
            "sample.yaml: tenants[0].numbers[0].targets[0].number: '010-1111-222x' is not a "
            "phone number: contains letters",
        ),
        (
            minimal(targets=[{"number": "010-1111-2222", "ring_seconds": 0}]),
            "tenants[0].numbers[0].targets[0].ring_seconds: expected a whole number from 1",
        ),
        (
            minimal(status="sleeping"),
            'tenants[0].numbers[0].status: "sleeping" is not one of active, paused, terminated',
        ),
        (
            minimal(holidays=[{"date": "2026-02-30", "name": "x"}]),
            'tenants[0].numbers[0].holidays[0].date: "2026-02-30" is not a date',
        ),
        (
            minimal(holidays=[{"date": "06-15", "name": "x"}]),
            'holidays[0].date: "06-15" has no year; add yearly: true',
        ),
        (
            minimal(schedule={"open": {"someday": ["11:00-12:00"]}}),
            "tenants[0].numbers[0].schedule.open.someday: 'someday' is not a day",
        ),
        (
            minimal(prompts={"greeting": {"text": "a", "audio": "b"}}),
            "prompts.greeting: a prompt needs exactly one of text or audio",
        ),
        (
            minimal(prompts={"welcome": {"text": "a"}}),
            'prompts.welcome: "welcome" is not one of greeting',
        ),
        (
            minimal(whisper={"text": "a"}, prompts={"whisper": {"text": "b"}}),
            "tenants[0].numbers[0].whisper: the whisper prompt is also set at "
            "tenants[0].numbers[0].prompts.whisper",
        ),
        (minimal(block_list=["anonymous"]), 'block_list[0]: "anonymous" is not a phone number'),
        (minimal(block_list=[1099990000]), "write phone numbers as quoted text"),
        (minimal(block_anonymous="yes"), 'block_anonymous: expected true or false, got "yes"'),
        (minimal(national_holidays="XX"), 'national_holidays: "XX" is not a country'),
        (
            minimal(schedule={"block_periods": [{"name": "m", "days": ["wed"]}]}),
            "schedule.block_periods[0]: missing key 'time'",
        ),
        (
            {"tenants": [{"id": "t", "timezone": "Mars/Base"}]},
            "sample.yaml: tenants[0].timezone: 'Mars/Base' is not a known time zone",
        ),
        ({"tenants": [{"name": "x"}]}, "sample.yaml: tenants[0]: missing key 'id'"),
        ({"tenant": []}, "sample.yaml: tenant: unknown key 'tenant' (known keys: tenants)"),
        ({"tenants": {"id": "t"}}, "sample.yaml: tenants: expected a list, got dict"),
        (None, "sample.yaml: the document is empty"),
        (["tenants"], "sample.yaml: expected a mapping, got list"),
    ],
)
def test_errors_name_the_file_the_path_and_the_problem(data: object, expected: str) -> None:
    assert expected in parse_error(data)


def test_long_prompt_texts_stay_parseable() -> None:
    doc = parse_document(minimal(prompts={"greeting": {"text": "가" * 300}}))
    assert (
        len(dict(doc.tenants[0].numbers[0].settings.prompts or ())[PromptKind.GREETING].text or "")
        == 300
    )


def test_every_number_key_works_at_tenant_level() -> None:
    data = sample_data()
    tenant = data["tenants"][0]
    tenant["block_list"] = ["010-1234-5678"]
    tenant["targets"] = [{"number": "010-4444-5555", "ring_seconds": 10}]
    tenant["status"] = "active"
    tenant["whisper"] = {"text": "tenant whisper"}
    doc = parse_document(data)
    assert doc.tenants[0].defaults.targets == (ForwardTarget("01044445555", 10),)


def test_resolve_merges_layers() -> None:
    doc = parse_document(sample_data())
    configs = resolve_all(doc, version=3)
    pizza = configs["05051234567"]
    assert pizza.version == 3
    assert pizza.national_holidays == "KR"
    assert pizza.prompt(PromptKind.AFTER_HOURS) is not None  # from the tenant
    assert pizza.prompt(PromptKind.WHISPER) == Prompt(text="배달앱 주문 전화입니다.")
    assert pizza.block_anonymous is True
    paused = configs["050712345678"]
    assert paused.status is NumberStatus.PAUSED
    assert paused.schedule is None and paused.targets == ()
    bar = configs["05059876543"]
    assert bar.strategy is Strategy.SIMULTANEOUS  # tenant default
    assert bar.caller_id is CallerIdMode.VIRTUAL
    assert bar.block_list == frozenset({"01088887777"})  # tenant-wide
    assert bar.max_talk_seconds == 1800


def test_resolve_unions_lists_and_number_wins_per_prompt_kind() -> None:
    tenant = TenantConfig(
        id="t",
        name="T",
        defaults=NumberSettings(
            national_holidays="KR",
            block_list=frozenset({"01011111111"}),
            free_pass=frozenset({"01022222222"}),
            holidays=(Holiday(1, 2, "a"),),
            prompts=(
                (PromptKind.GREETING, Prompt(text="tenant")),
                (PromptKind.LUNCH, Prompt(text="tenant lunch")),
            ),
            strategy=Strategy.SIMULTANEOUS,
            max_talk_seconds=100,
        ),
    )
    entry = NumberEntry(
        "05051234567",
        NumberSettings(
            national_holidays="",
            block_list=frozenset({"01033333333"}),
            holidays=(Holiday(1, 2, "a"), Holiday(3, 4, "b")),
            prompts=((PromptKind.GREETING, Prompt(text="own")),),
            max_talk_seconds=5,
        ),
    )
    config = resolve(tenant, entry)
    assert config.block_list == frozenset({"01011111111", "01033333333"})
    assert config.free_pass == frozenset({"01022222222"})
    assert config.holidays == (Holiday(1, 2, "a"), Holiday(3, 4, "b"))
    assert config.prompt(PromptKind.GREETING) == Prompt(text="own")
    assert config.prompt(PromptKind.LUNCH) == Prompt(text="tenant lunch")
    assert config.national_holidays is None  # "" switches the tenant's calendar off
    assert config.strategy is Strategy.SIMULTANEOUS
    assert config.max_talk_seconds == 5
    assert config.caller_id is CallerIdMode.CALLER  # built-in default


def test_parse_does_not_modify_its_input() -> None:
    data = sample_data()
    before = copy.deepcopy(data)
    parse_document(data)
    assert data == before
