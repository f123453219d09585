"""The week timeline and the text renderings of plans and weeks."""

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document, resolve_all
from ivr_engine.domain.model import ForwardTarget, Interval, NumberConfig, NumberStatus, Schedule
from ivr_engine.domain.planner import CallState, Outcome, plan_call
from ivr_engine.domain.render import describe_hearing, format_plan, format_week
from ivr_engine.domain.timeline import TimelinePeriod, week_timeline

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
SEOUL = ZoneInfo("Asia/Seoul")
MONDAY = date(2026, 11, 16)


@cache
def configs() -> dict[str, NumberConfig]:
    return resolve_all(parse_document(load_yaml(SAMPLE.read_text(encoding="utf-8"))))


def assert_covers(periods: list[TimelinePeriod], start: date, days: int, tz: ZoneInfo) -> None:
    """Contiguous from local midnight to local midnight, no equal neighbours."""
    assert periods[0].start == datetime.combine(start, time(0), tzinfo=tz)
    assert periods[-1].end == datetime.combine(start + timedelta(days=days), time(0), tzinfo=tz)
    for before, after in pairwise(periods):
        assert before.end == after.start
        assert before.start < before.end
        assert (before.state, before.outcome, before.hears, before.reason) != (
            after.state,
            after.outcome,
            after.hears,
            after.reason,
        )


def find(periods: list[TimelinePeriod], when: datetime) -> TimelinePeriod:
    return next(p for p in periods if p.start <= when < p.end)


def test_sample_week_is_contiguous_and_matches_the_planner() -> None:
    config = configs()["05051234567"]
    periods = week_timeline(config, MONDAY)
    assert_covers(periods, MONDAY, 7, SEOUL)
    for period in periods:  # the planner agrees at the start, middle and last minute
        for when in (
            period.start,
            period.start + (period.end - period.start) / 2,
            period.end - timedelta(minutes=1),
        ):
            plan = plan_call(config, "010-2000-3000", config.number, when)
            assert (plan.state, plan.outcome) == (period.state, period.outcome)


@pytest.mark.parametrize(
    ("start", "end", "state", "outcome"),
    [
        ((20, 11), (20, 15), CallState.OPEN, Outcome.FORWARD),
        ((20, 15), (20, 16), CallState.LUNCH, Outcome.ANNOUNCE),
        ((18, 11), (18, 12), CallState.BLOCK_PERIOD, Outcome.ANNOUNCE),
        ((20, 22), (21, 11), CallState.CLOSED, Outcome.ANNOUNCE),  # merged across midnight
        ((21, 23), (23, 0), CallState.CLOSED, Outcome.ANNOUNCE),  # Sat night and all Sunday
    ],
)
def test_sample_week_periods(
    start: tuple[int, int], end: tuple[int, int], state: CallState, outcome: Outcome
) -> None:
    periods = week_timeline(configs()["05051234567"], MONDAY)
    begin = datetime(2026, 11, start[0], start[1], tzinfo=SEOUL)
    period = find(periods, begin)
    assert period.start == begin
    assert period.end == datetime(2026, 11, end[0], end[1], tzinfo=SEOUL)
    assert (period.state, period.outcome) == (state, outcome)


def test_holiday_week_shows_the_holiday() -> None:
    periods = week_timeline(configs()["05051234567"], date(2026, 12, 21))
    christmas = find(periods, datetime(2026, 12, 25, 12, tzinfo=SEOUL))
    assert christmas.state is CallState.HOLIDAY
    assert christmas.start == datetime(2026, 12, 25, tzinfo=SEOUL)  # the whole calendar day
    assert christmas.end == datetime(2026, 12, 26, tzinfo=SEOUL)
    assert christmas.reason.startswith("national holiday Christmas Day")


def test_paused_number_is_one_period() -> None:
    periods = week_timeline(configs()["050712345678"], MONDAY)
    assert len(periods) == 1
    assert periods[0].state is CallState.PAUSED
    assert periods[0].end - periods[0].start == timedelta(days=7)
    assert "temporarily-unavailable" in periods[0].hears


def test_dst_week_keeps_overnight_hours() -> None:
    zone = ZoneInfo("America/New_York")
    config = NumberConfig(
        "05051234567",
        "t",
        "T",
        timezone="America/New_York",
        targets=(ForwardTarget("01011112222"),),
        schedule=Schedule(open=tuple((d, (Interval(time(22), time(2)),)) for d in range(7))),
    )
    start = date(2026, 3, 5)  # the week of the spring-forward switch (Sun 8 Mar)
    periods = week_timeline(config, start)
    assert_covers(periods, start, 7, zone)
    total = sum((p.end.astimezone(UTC) - p.start.astimezone(UTC) for p in periods), timedelta())
    assert total == timedelta(days=7, hours=-1)
    for period in periods:
        local = period.start.astimezone(zone)
        expected = CallState.OPEN if local.hour in (22, 0) else CallState.CLOSED
        assert period.state is expected, period
        if period.state is CallState.OPEN and period is not periods[-1]:
            end = period.end.astimezone(zone)
            # 02:00 does not exist on the switch day: the night ends when the clock jumps.
            assert (end.hour, end.minute) == ((3, 0) if end.date() == date(2026, 3, 8) else (2, 0))


def test_period_json() -> None:
    period = week_timeline(configs()["05051234567"], MONDAY, days=1)[1]
    out = json.loads(json.dumps(period.to_json()))
    assert out["start"] == "2026-11-16T11:00:00+09:00"
    assert out["state"] == "open" and out["outcome"] == "forward"
    assert "010-11**-22** 20s then 02-33*-44** 15s" in out["hears"]


def test_week_needs_a_day() -> None:
    with pytest.raises(ValueError):
        week_timeline(configs()["05051234567"], MONDAY, days=0)


def test_format_week_lines() -> None:
    config = configs()["05051234567"]
    text = format_week(config, week_timeline(config, MONDAY))
    lines = text.splitlines()
    assert lines[0].startswith("0505-123-4567")
    assert any(
        line.startswith("Fri 20 Nov  11:00-15:00  open ")
        and 'forward: coloring "전화 주셔서 감사합니다. 강남피자입니다.", '
        "ring 010-11**-22** 20s then 02-33*-44** 15s"
        in line
        for line in lines
    )
    assert any(line.startswith("Fri 20 Nov  22:00-24:00  closed ") for line in lines)
    assert any(line.startswith("Sat 21 Nov  00:00-11:00  closed ") for line in lines)
    assert any(
        line.startswith("Wed 18 Nov  11:00-12:00  block_period ") and "회의 중" in line
        for line in lines
    )
    assert "01011112222" not in text


def test_format_week_of_a_simultaneous_night_number() -> None:
    config = configs()["05059876543"]
    text = format_week(config, week_timeline(config, MONDAY))
    assert "Sat 21 Nov  00:00-02:00  open" in text
    assert "ring 010-33**-44** 25s and 070-12**-56** 25s at once" in text


def test_format_plan_masks_and_explains() -> None:
    config = configs()["05051234567"]
    when = datetime(2026, 11, 20, 23, 30, tzinfo=SEOUL)
    text = format_plan(plan_call(config, "010-5555-6666", config.number, when))
    assert "state: closed" in text and "outcome: forward" in text
    assert "1. dial: ring 010-11**-22** 20s then 02-33*-44** 15s (sequential)" in text
    assert "has a free pass" in text
    assert "01055556666" not in text and "5555-6666" not in text
    blocked = format_plan(plan_call(config, "010-9999-0000", config.number, when))
    assert "hang up with cause 21 (call rejected)" in blocked
    assert "system prompt blocked-caller" in blocked


def test_describe_hearing_of_an_announcement() -> None:
    config = dataclasses.replace(configs()["05051234567"], status=NumberStatus.PAUSED)
    plan = plan_call(
        config, "010-2000-3000", config.number, datetime(2026, 11, 20, 12, tzinfo=SEOUL)
    )
    assert describe_hearing(plan) == "announce: system prompt temporarily-unavailable"
