"""The planner as tables: the issue's sample answers, every rule and the evaluation order."""

import dataclasses
import json
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document, resolve_all
from ivr_engine.domain.model import (
    CallerIdMode,
    ForwardTarget,
    Holiday,
    NumberConfig,
    NumberStatus,
    Prompt,
    PromptKind,
    Strategy,
)
from ivr_engine.domain.numbers import mask, normalize
from ivr_engine.domain.planner import (
    AnswerStep,
    CallPlan,
    CallState,
    DialStep,
    HangupStep,
    Outcome,
    PlayStep,
    plan_call,
)
from ivr_engine.domain.schedule import zone

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
PIZZA = "0505-123-4567"


@cache
def sample_configs() -> dict[str, NumberConfig]:
    data = load_yaml(SAMPLE.read_text(encoding="utf-8"))
    return resolve_all(parse_document(data, str(SAMPLE)))


def seoul(text: str) -> datetime:
    """A local time in Asia/Seoul, e.g. '2026-11-20 12:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=zone("Asia/Seoul"))


def plan(number: str, caller: str, at: str, **changes: object) -> CallPlan:
    config = sample_configs().get(normalize(number))
    if config is not None and changes:
        config = dataclasses.replace(config, **changes)  # type: ignore[arg-type]
    return plan_call(config, caller, number, seoul(at))


# The table of issue 2, row for row.
ISSUE_TABLE = [
    ("0505-123-4567", "010-2000-3000", "2026-11-20 12:00", "open", "forward"),
    ("0505-123-4567", "010-2000-3000", "2026-11-20 15:30", "lunch", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-11-20 23:30", "closed", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-11-22 12:00", "closed", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-12-25 12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2027-02-08 12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2027-06-15 12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-12-31 12:00", "holiday", "announce"),
    ("0505-123-4567", "010-2000-3000", "2026-11-25 11:30", "block_period", "announce"),
    ("0505-123-4567", "+82 10-9999-0000", "2026-11-20 12:00", "blocked_caller", "announce"),
    ("0505-123-4567", "anonymous", "2026-11-20 12:00", "blocked_caller", "announce"),
    ("0505-123-4567", "xyz", "2026-11-20 12:00", "blocked_caller", "announce"),
    ("0505-123-4567", "#31#", "2026-11-20 23:30", "blocked_caller", "announce"),
    ("0505-123-4567", "010-5555-6666", "2026-11-20 23:30", "closed", "forward"),
    ("0507-1234-5678", "010-2000-3000", "2026-11-20 12:00", "paused", "announce"),
    ("0504-222-3333", "010-2000-3000", "2026-11-20 12:00", "unallocated", "announce"),
]


@pytest.mark.parametrize(("number", "caller", "at", "state", "outcome"), ISSUE_TABLE)
def test_issue_table(number: str, caller: str, at: str, state: str, outcome: str) -> None:
    result = plan(number, caller, at)
    assert result.state.value == state
    assert result.outcome.value == outcome
    as_json = json.loads(json.dumps(result.to_json()))
    assert as_json["state"] == state and as_json["outcome"] == outcome
    assert as_json["reasons"] and all(isinstance(r, str) for r in as_json["reasons"])
    assert all("action" in step for step in as_json["steps"])
    has_dial = any(step["action"] == "dial" for step in as_json["steps"])
    assert has_dial == (outcome == "forward")


def test_open_forward_has_coloring_whisper_and_targets_in_order() -> None:
    result = plan(PIZZA, "010-2000-3000", "2026-11-20 12:00")
    assert len(result.steps) == 1
    dial = result.steps[0]
    assert isinstance(dial, DialStep)
    assert dial.targets == (ForwardTarget("01011112222", 20), ForwardTarget("023334444", 15))
    assert dial.strategy is Strategy.SEQUENTIAL
    assert dial.coloring == Prompt(text="전화 주셔서 감사합니다. 강남피자입니다.")
    assert dial.whisper == Prompt(text="배달앱 주문 전화입니다.")
    assert dial.caller_id == "01020003000"
    assert result.caller.digits == "01020003000"
    out = result.to_json()
    assert out["caller"] == "010-20**-30**"
    assert out["number"] == "0505-123-4567"
    assert out["tenant"] == "gangnam-pizza"
    assert [t["number"] for t in out["steps"][0]["targets"]] == ["01011112222", "023334444"]
    assert "01020003000" not in json.dumps(out)  # the caller is masked everywhere


@pytest.mark.parametrize(
    ("caller", "at", "kind", "text_part", "reason_part", "cause"),
    [
        ("010-2000-3000", "2026-11-20 15:30", PromptKind.LUNCH, "점심시간", "lunch break", 16),
        ("010-2000-3000", "2026-11-20 23:30", PromptKind.AFTER_HOURS, "영업시간", "outside", 16),
        ("010-2000-3000", "2026-12-25 12:00", PromptKind.HOLIDAY, "휴무일", "Christmas Day", 16),
        ("010-2000-3000", "2026-12-31 12:00", PromptKind.HOLIDAY, "휴무일", "송년 휴무", 16),
        ("010-2000-3000", "2026-11-25 11:30", PromptKind.BLOCK_PERIOD, "회의 중", "주간회의", 16),
    ],
)
def test_announcements_play_the_state_prompt_then_clear(
    caller: str, at: str, kind: PromptKind, text_part: str, reason_part: str, cause: int
) -> None:
    result = plan(PIZZA, caller, at)
    play, hangup = result.steps
    assert isinstance(play, PlayStep) and isinstance(hangup, HangupStep)
    assert play.prompt_kind is kind
    assert play.prompt is not None and text_part in (play.prompt.text or "")
    assert play.early_media is True
    assert hangup.cause == cause
    assert any(reason_part in r for r in result.reasons)


def test_holiday_prompt_of_its_own_wins() -> None:
    own = Holiday(11, 20, "staff trip", year=2026, prompt=Prompt(text="trip"))
    config = sample_configs()[normalize(PIZZA)]
    result = plan_call(
        dataclasses.replace(config, holidays=(own,)),
        "010-2000-3000",
        PIZZA,
        seoul("2026-11-20 12:00"),
    )
    assert result.state is CallState.HOLIDAY
    assert result.steps[0] == PlayStep(PromptKind.HOLIDAY, Prompt(text="trip"), None, True)
    assert any("staff trip" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("number", "caller", "changes", "system", "cause", "state"),
    [
        ("0504-222-3333", "010-2000-3000", {}, "not-in-service", 1, CallState.UNALLOCATED),
        ("0507-1234-5678", "010-2000-3000", {}, "temporarily-unavailable", 20, CallState.PAUSED),
        ("0505-123-4567", "010-9999-0000", {}, "blocked-caller", 21, CallState.BLOCKED_CALLER),
        ("0505-123-4567", "", {}, "blocked-caller", 21, CallState.BLOCKED_CALLER),
        ("0505-123-4567", "010-2000-3000", {"prompts": ()}, None, None, CallState.OPEN),
        ("0505-123-4567", "010-2000-3000", {"targets": ()}, "cannot-be-reached", 3, CallState.OPEN),
        (
            "0505-123-4567",
            "010-2000-3000",
            {"status": NumberStatus.TERMINATED},
            "not-in-service",
            1,
            CallState.UNALLOCATED,
        ),
    ],
)
def test_system_prompts_and_causes(
    number: str,
    caller: str,
    changes: dict[str, object],
    system: str | None,
    cause: int | None,
    state: CallState,
) -> None:
    result = plan(number, caller, "2026-11-20 12:00", **changes)
    assert result.state is state
    if system is None:  # open with no prompts at all: plain ringback, no announcement
        assert result.outcome is Outcome.FORWARD
        dial = result.steps[-1]
        assert isinstance(dial, DialStep) and dial.coloring is None and dial.whisper is None
        return
    play, hangup = result.steps
    assert isinstance(play, PlayStep) and isinstance(hangup, HangupStep)
    assert (play.prompt, play.system_prompt, hangup.cause) == (None, system, cause)
    assert result.outcome is Outcome.ANNOUNCE


def test_unknown_number_is_unallocated() -> None:
    result = plan_call(None, "010-2000-3000", "0505-000-0000", seoul("2026-11-20 12:00"))
    assert result.state is CallState.UNALLOCATED
    assert result.tenant_id is None and result.number == "05050000000"
    assert result.steps[-1] == HangupStep(1, "unallocated number")
    assert plan_call(None, "x", "garbage", seoul("2026-11-20 12:00")).number == "garbage"


# Evaluation order: each row sets up two rules that both apply; the earlier one wins.
@pytest.mark.parametrize(
    ("caller", "at", "changes", "state"),
    [
        # status before the block list
        ("010-9999-0000", "2026-11-20 12:00", {"status": NumberStatus.PAUSED}, "paused"),
        ("010-9999-0000", "2026-11-20 12:00", {"status": NumberStatus.TERMINATED}, "unallocated"),
        # block list before the schedule, and before the free pass
        ("010-9999-0000", "2026-11-20 23:30", {}, "blocked_caller"),
        (
            "010-9999-0000",
            "2026-11-20 12:00",
            {"free_pass": frozenset({"01099990000"})},
            "blocked_caller",
        ),
        # anonymous before the schedule
        ("anonymous", "2026-12-25 12:00", {}, "blocked_caller"),
        ("anonymous", "2026-11-20 12:00", {"block_anonymous": False}, "open"),
        # a caller ID that is not a number is anonymous
        ("xyz", "2026-12-25 12:00", {}, "blocked_caller"),
        ("xyz", "2026-11-20 12:00", {"block_anonymous": False}, "open"),
        # holiday before block period and lunch
        (
            "010-2000-3000",
            "2026-12-30 11:30",
            {"holidays": (Holiday(12, 30, "h", 2026),)},
            "holiday",
        ),
        (
            "010-2000-3000",
            "2026-12-30 15:30",
            {"holidays": (Holiday(12, 30, "h", 2026),)},
            "holiday",
        ),
        # block period before open hours
        ("010-2000-3000", "2026-11-25 11:59", {}, "block_period"),
    ],
)
def test_evaluation_order(caller: str, at: str, changes: dict[str, object], state: str) -> None:
    assert plan(PIZZA, caller, at, **changes).state.value == state


@pytest.mark.parametrize(
    ("at", "state"),
    [
        ("2026-11-20 23:30", "closed"),
        ("2026-11-20 15:30", "lunch"),
        ("2026-12-25 12:00", "holiday"),
        ("2026-11-25 11:30", "block_period"),
        ("2026-11-20 12:00", "open"),
    ],
)
def test_free_pass_forwards_in_every_schedule_state(at: str, state: str) -> None:
    result = plan(PIZZA, "010-5555-6666", at)
    assert result.state.value == state
    assert result.outcome is Outcome.FORWARD
    assert isinstance(result.steps[-1], DialStep)
    assert any("free pass" in r for r in result.reasons) == (state != "open")


def test_free_pass_does_not_override_status() -> None:
    result = plan(PIZZA, "010-5555-6666", "2026-11-20 12:00", status=NumberStatus.PAUSED)
    assert result.outcome is Outcome.ANNOUNCE


def test_coloring_follows_the_schedule_state() -> None:
    prompts = tuple(
        (k, Prompt(text=k.value))
        for k in (
            PromptKind.COLORING_OPEN,
            PromptKind.COLORING_CLOSED,
            PromptKind.COLORING_HOLIDAY,
            PromptKind.COLORING_LUNCH,
        )
    )
    for at, kind in [
        ("2026-11-20 12:00", "coloring_open"),
        ("2026-11-20 23:30", "coloring_closed"),
        ("2026-11-20 15:30", "coloring_lunch"),
        ("2026-12-25 12:00", "coloring_holiday"),
        ("2026-11-25 11:30", "coloring_closed"),
    ]:
        dial = plan(PIZZA, "010-5555-6666", at, prompts=prompts).steps[-1]
        assert isinstance(dial, DialStep)
        assert dial.coloring == Prompt(text=kind)


def test_answer_first_and_greeting() -> None:
    greeting = ((PromptKind.GREETING, Prompt(text="hello")),)
    early = plan(PIZZA, "010-2000-3000", "2026-11-20 12:00", prompts=greeting)
    assert [s.action for s in early.steps] == ["play", "dial"]
    assert isinstance(early.steps[0], PlayStep) and early.steps[0].early_media
    answered = plan(
        PIZZA,
        "010-2000-3000",
        "2026-11-20 12:00",
        prompts=greeting,
        answer_before_announcement=True,
    )
    assert [s.action for s in answered.steps] == ["answer", "play", "dial"]
    assert isinstance(answered.steps[0], AnswerStep)
    closed = plan(PIZZA, "010-2000-3000", "2026-11-20 23:30", answer_before_announcement=True)
    assert [s.action for s in closed.steps] == ["answer", "play", "hangup"]
    blocked = plan(PIZZA, "010-9999-0000", "2026-11-20 12:00", answer_before_announcement=True)
    assert [s.action for s in blocked.steps] == ["play", "hangup"]  # rejected, never answered


def test_caller_id_shown_to_the_target() -> None:
    shown = plan(PIZZA, "010-2000-3000", "2026-11-20 12:00", caller_id=CallerIdMode.VIRTUAL).steps[
        -1
    ]
    assert isinstance(shown, DialStep) and shown.caller_id == "05051234567"
    assert shown.to_json()["caller_id"] == "0505-123-4567"
    anonymous = plan(PIZZA, "anonymous", "2026-11-20 12:00", block_anonymous=False).steps[-1]
    assert isinstance(anonymous, DialStep) and anonymous.caller_id == ""


@pytest.mark.parametrize("caller", ["abc", "xyz", "010-12", "#31#", "++--"])
def test_malformed_caller_is_an_anonymous_caller(caller: str) -> None:
    blocked = plan(PIZZA, caller, "2026-11-20 12:00")  # the sample blocks anonymous callers
    assert blocked.state is CallState.BLOCKED_CALLER
    assert blocked.outcome is Outcome.ANNOUNCE
    assert any("anonymous callers are blocked" in r for r in blocked.reasons)
    result = plan(PIZZA, caller, "2026-11-20 12:00", block_anonymous=False)
    assert result.state is CallState.OPEN
    assert result.outcome is Outcome.FORWARD
    assert result.caller.digits == "" and result.caller.anonymous
    assert result.reasons[0] == (
        f"caller ID {mask(caller)} is not a phone number: treated as an anonymous caller"
    )
    assert result.to_json()["caller"] == "anonymous"
    dial = result.steps[-1]
    assert isinstance(dial, DialStep) and dial.caller_id == ""


def test_none_caller_is_anonymous() -> None:
    result = plan_call(sample_configs()[normalize(PIZZA)], None, PIZZA, seoul("2026-11-20 12:00"))
    assert result.state is CallState.BLOCKED_CALLER


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        plan_call(
            sample_configs()[normalize(PIZZA)], "010-2000-3000", PIZZA, datetime(2026, 11, 20, 12)
        )


def test_plan_json_carries_version_and_steps() -> None:
    result = plan(PIZZA, "010-2000-3000", "2026-11-20 23:30", version=7)
    out = json.loads(json.dumps(result.to_json()))
    assert out["config_version"] == 7
    assert out["steps"][0] == {
        "action": "play",
        "prompt_kind": "after_hours",
        "prompt": {
            "text": "지금은 영업시간이 아닙니다. 영업시간은 오전 11시부터 오후 10시까지입니다."
        },
        "system_prompt": None,
        "early_media": True,
    }
    assert out["steps"][1] == {"action": "hangup", "cause": 16, "reason": "closed announcement"}


def test_simultaneous_tenant_default_and_talk_limit() -> None:
    result = plan("0505-987-6543", "010-2000-3000", "2026-11-21 01:00")  # Sat, from Fri night
    assert result.state is CallState.OPEN
    dial = result.steps[-1]
    assert isinstance(dial, DialStep)
    assert dial.strategy is Strategy.SIMULTANEOUS
    assert dial.max_talk_seconds == 1800
    assert dial.caller_id == "05059876543"
    blocked = plan("0505-987-6543", "010-8888-7777", "2026-11-21 01:00")
    assert blocked.state is CallState.BLOCKED_CALLER
