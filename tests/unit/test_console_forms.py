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
    assert field_of("block_list[0]") == "block_list"
    assert field_of("national_holidays") == ""
    assert field_of_message("ERROR tenants[0].numbers[0].prompts.after_hours: too long") == (
        "prompt_after_hours"
    )


HOLIDAYS: dict[str, Any] = {
    **ENTRY,
    "holidays": [
        {"date": "2026-12-31", "name": "송년 휴무", "prompt": {"text": "송년 휴무입니다."}},
        {"date": "06-15", "name": "창립기념일", "yearly": True},
    ],
    "free_pass": ["010-5555-6666"],
}


def test_holidays_and_caller_lists_as_lines_and_back() -> None:
    fields = form_fields(HOLIDAYS)
    assert fields["holidays"] == "2026-12-31 송년 휴무\n06-15 창립기념일"
    assert fields["block_list"] == "010-9999-0000" and fields["free_pass"] == "010-5555-6666"
    data, errors = apply_form(HOLIDAYS, _posted(fields))
    assert errors == {} and data == HOLIDAYS  # the holiday's prompt is kept on its date


def test_editing_holidays_and_lists() -> None:
    posted = _posted(form_fields(HOLIDAYS))
    posted["holidays"] = "2026-12-31 송년 휴무\n2027-01-01 신정\n\n12-25 성탄절"
    posted["block_list"] = "010-9999-0000\n02-333-4444"
    posted["free_pass"] = ""
    data, errors = apply_form(HOLIDAYS, posted)
    assert errors == {}
    assert data["holidays"] == [
        {"date": "2026-12-31", "name": "송년 휴무", "prompt": {"text": "송년 휴무입니다."}},
        {"date": "2027-01-01", "name": "신정"},
        {"date": "12-25", "name": "성탄절", "yearly": True},
    ]
    assert data["block_list"] == ["010-9999-0000", "02-333-4444"]
    assert "free_pass" not in data


def test_bad_holiday_and_number_lines_name_their_field_and_line() -> None:
    posted = _posted(form_fields(HOLIDAYS))
    posted["holidays"] = "2026-12-31 송년 휴무\n2026-02-30 없는 날"
    posted["block_list"] = "010-9999-0000\nnot a number"
    posted["free_pass"] = "송년"
    _, errors = apply_form(HOLIDAYS, posted)
    assert set(errors) == {"holidays", "block_list", "free_pass"}
    assert errors["holidays"] == "line 2: 2026-02-30 is not a date"
    assert errors["block_list"].startswith("line 2: 'not a number'")
    posted["holidays"] = "송년 휴무"
    _, errors = apply_form(HOLIDAYS, posted)
    assert errors["holidays"].startswith("line 1: write the date then the name")
    assert field_of("holidays[1].date") == "holidays" and field_of("free_pass[0]") == "free_pass"
