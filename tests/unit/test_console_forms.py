"""The number settings form translates to the configuration entry and back without
losing what it does not show, and names the field of every problem."""

from __future__ import annotations

from typing import Any

from ivr_engine.console.forms import (
    apply_form,
    config_diff,
    field_of,
    field_of_message,
    form_fields,
    parse_schedule_text,
    schedule_text,
)

ENTRY: dict[str, Any] = {
    "number": "0505-123-4567",
    "label": "주문",
    "targets": [{"number": "010-1111-2222", "ring_seconds": 20}],
    "schedule": {
        "open": {"mon-fri": ["11:00-15:00", "16:00-22:00"], "sat": ["11:00-23:00"]},
        "lunch": {"mon-fri": ["15:00-16:00"]},
        "block_periods": [{"name": "회의", "days": ["wed"], "time": "11:00-12:00"}],
    },
    "prompts": {"whisper": {"text": "주문 전화"}, "holiday": {"file": "holiday.wav"}},
    "block_list": ["010-9999-0000"],
}


def _posted(fields: dict[str, Any]) -> dict[str, str]:
    out = {k: v for k, v in fields.items() if isinstance(v, str)}
    for i, (number, ring) in enumerate(fields["targets"]):
        out[f"target_number_{i}"], out[f"target_ring_{i}"] = number, ring
    return out


def test_the_form_as_shown_gives_back_the_same_entry() -> None:
    data, errors = apply_form(ENTRY, _posted(form_fields(ENTRY)))
    assert errors == {}
    assert data == ENTRY
    assert config_diff(ENTRY, data) == []


def test_changing_the_schedule_keeps_block_periods_and_lists() -> None:
    posted = _posted(form_fields(ENTRY))
    posted["schedule_open"] = "mon-fri 10:00-20:00\nsat,sun 12:00-18:00"
    data, errors = apply_form(ENTRY, posted)
    assert errors == {}
    assert data["schedule"]["open"] == {"mon-fri": ["10:00-20:00"], "sat,sun": ["12:00-18:00"]}
    assert data["schedule"]["block_periods"] == ENTRY["schedule"]["block_periods"]
    assert data["block_list"] == ENTRY["block_list"]
    diff = dict((path, (old, new)) for path, old, new in config_diff(ENTRY, data))
    assert diff["schedule.open.mon-fri"] == (
        '["11:00-15:00", "16:00-22:00"]',
        '["10:00-20:00"]',
    )
    assert diff["schedule.open.sat"] == ('["11:00-23:00"]', "")
    assert diff["schedule.open.sat,sun"] == ("", '["12:00-18:00"]')


def test_a_recorded_prompt_is_not_touched_and_empty_text_removes_one() -> None:
    posted = _posted(form_fields(ENTRY))
    posted["prompt_whisper"] = ""
    posted["prompt_holiday"] = "would replace the file"
    data, _ = apply_form(ENTRY, posted)
    assert data["prompts"] == {"holiday": {"file": "holiday.wav"}}


def test_form_level_problems_name_their_field() -> None:
    posted = _posted(form_fields(ENTRY))
    posted["schedule_lunch"] = "lunchtime"
    posted["target_ring_0"] = "twenty"
    posted["status"] = "sleeping"
    _, errors = apply_form(ENTRY, posted)
    assert set(errors) == {"schedule_lunch", "targets", "status"}
    assert "line 1" in errors["schedule_lunch"]


def test_schedule_text_round_trip() -> None:
    weekly = {"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-14:00"]}
    assert parse_schedule_text(schedule_text(weekly)) == (weekly, None)
    assert parse_schedule_text("mon 09:00-12:00,13:00-18:00") == (
        {"mon": ["09:00-12:00", "13:00-18:00"]},
        None,
    )
    assert parse_schedule_text("\n  \n") == ({}, None)


def test_configuration_paths_map_to_fields() -> None:
    assert field_of("number: schedule.open.mon-fri[1]") == "schedule_open"
    assert field_of("targets[0].number") == "targets"
    assert field_of("prompts.lunch.text") == "prompt_lunch"
    assert field_of("block_list[0]") == ""
    assert field_of_message("ERROR tenants[0].numbers[0].prompts.after_hours: too long") == (
        "prompt_after_hours"
    )
