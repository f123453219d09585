"""Schedule states: the evaluation order, overnight intervals, holidays and time zones."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.domain.calendar import calendar_known, national_holiday, own_holiday
from ivr_engine.domain.model import (
    BlockPeriod,
    Holiday,
    Interval,
    NumberConfig,
    Prompt,
    Schedule,
)
from ivr_engine.domain.schedule import (
    ScheduleState,
    format_days,
    format_interval,
    parse_days,
    parse_interval,
    state_at,
)

SEOUL = ZoneInfo("Asia/Seoul")
MEETING = BlockPeriod("meeting", frozenset({2}), Interval(time(11), time(12)), Prompt(text="x"))
SCHEDULE = Schedule(
    open=(
        *((d, (Interval(time(11), time(15)), Interval(time(16), time(22)))) for d in range(5)),
        (5, (Interval(time(22), time(2)),)),
    ),
    lunch=tuple((d, (Interval(time(15), time(16)),)) for d in range(5)),
    block_periods=(MEETING,),
)
NEW_YEAR_EVE = Holiday(12, 31, "year end", year=2026)
FOUNDING = Holiday(6, 15, "founding day")


def config(**changes: object) -> NumberConfig:
    """A number with the test schedule in Seoul, changed as asked."""
    base: dict[str, object] = {
        "number": "05051234567",
        "tenant_id": "t",
        "tenant_name": "T",
        "schedule": SCHEDULE,
        "holidays": (NEW_YEAR_EVE, FOUNDING),
    }
    base.update(changes)
    return NumberConfig(**base)  # type: ignore[arg-type]


def seoul(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("when", "state", "reason"),
    [
        (seoul(2026, 11, 20, 12), ScheduleState.OPEN, "open hours 11:00-15:00"),
        (seoul(2026, 11, 20, 10, 59), ScheduleState.CLOSED, "outside open hours"),
        (seoul(2026, 11, 20, 11), ScheduleState.OPEN, "open hours 11:00-15:00"),
        (seoul(2026, 11, 20, 15), ScheduleState.LUNCH, "lunch break 15:00-16:00"),
        (seoul(2026, 11, 20, 16), ScheduleState.OPEN, "open hours 16:00-22:00"),
        (seoul(2026, 11, 20, 22), ScheduleState.CLOSED, "outside open hours"),
        (seoul(2026, 11, 25, 11, 30), ScheduleState.BLOCK_PERIOD, "block period meeting"),
        (seoul(2026, 11, 25, 12), ScheduleState.OPEN, "open hours 11:00-15:00"),
        (seoul(2026, 11, 21, 23), ScheduleState.OPEN, "open hours 22:00-02:00"),
        (seoul(2026, 11, 22, 1, 59), ScheduleState.OPEN, "open hours 22:00-02:00"),
        (seoul(2026, 11, 22, 2), ScheduleState.CLOSED, "outside open hours"),
        (seoul(2026, 11, 22, 12), ScheduleState.CLOSED, "outside open hours"),
        (seoul(2026, 12, 31, 12), ScheduleState.HOLIDAY, "holiday year end"),
        (seoul(2027, 6, 15, 12), ScheduleState.HOLIDAY, "yearly holiday founding day"),
        (seoul(2026, 6, 15, 12), ScheduleState.HOLIDAY, "yearly holiday founding day"),
    ],
)
def test_state_table(when: datetime, state: ScheduleState, reason: str) -> None:
    at = state_at(config(), when)
    assert at.state is state
    assert reason in at.reason


def test_block_period_beats_open_and_carries_the_period() -> None:
    at = state_at(config(), seoul(2026, 11, 25, 11, 30))
    assert at.block_period == MEETING


def test_holiday_beats_block_period_and_lunch() -> None:
    wednesday_holiday = Holiday(11, 25, "off", year=2026)
    cfg = config(holidays=(wednesday_holiday,))
    assert state_at(cfg, seoul(2026, 11, 25, 11, 30)).holiday == wednesday_holiday
    assert state_at(cfg, seoul(2026, 11, 25, 15, 30)).state is ScheduleState.HOLIDAY


def test_lunch_beats_open_when_they_overlap() -> None:
    overlap = Schedule(
        open=((0, (Interval(time(9), time(18)),)),), lunch=((0, (Interval(time(12), time(13)),)),)
    )
    cfg = config(schedule=overlap, holidays=())
    assert state_at(cfg, seoul(2026, 11, 16, 12, 30)).state is ScheduleState.LUNCH
    assert state_at(cfg, seoul(2026, 11, 16, 13)).state is ScheduleState.OPEN


def test_national_calendar_is_switched_on_per_number() -> None:
    christmas = seoul(2026, 12, 25, 12)
    assert state_at(config(), christmas).state is ScheduleState.OPEN
    at = state_at(config(national_holidays="KR"), christmas)
    assert at.state is ScheduleState.HOLIDAY
    assert at.national_holiday_name == "Christmas Day"
    lunar = state_at(config(national_holidays="KR"), seoul(2027, 2, 8, 12))
    assert lunar.state is ScheduleState.HOLIDAY
    assert "Korean New Year" in (lunar.national_holiday_name or "")


def test_one_off_holiday_only_in_its_year() -> None:
    assert state_at(config(), seoul(2027, 12, 31, 12)).state is ScheduleState.OPEN


def test_holiday_covers_its_calendar_day_only() -> None:
    # Saturday 22:00-02:00. A holiday on Sunday overrules Saturday's after-midnight part...
    sunday_off = config(holidays=(Holiday(11, 22, "sunday off", year=2026),))
    assert state_at(sunday_off, seoul(2026, 11, 22, 1)).state is ScheduleState.HOLIDAY
    # ...and a holiday on Saturday leaves Sunday's after-midnight part open.
    saturday_off = config(holidays=(Holiday(11, 21, "saturday off", year=2026),))
    assert state_at(saturday_off, seoul(2026, 11, 21, 23)).state is ScheduleState.HOLIDAY
    assert state_at(saturday_off, seoul(2026, 11, 22, 1)).state is ScheduleState.OPEN


def test_no_schedule_is_open_around_the_clock_but_holidays_apply() -> None:
    cfg = config(schedule=None)
    for hour in (0, 3, 12, 23):
        assert state_at(cfg, seoul(2026, 11, 22, hour)).state is ScheduleState.OPEN
    assert state_at(cfg, seoul(2026, 12, 31, 3)).state is ScheduleState.HOLIDAY


def test_empty_schedule_is_closed() -> None:
    assert (
        state_at(config(schedule=Schedule()), seoul(2026, 11, 20, 12)).state is ScheduleState.CLOSED
    )


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        state_at(config(), datetime(2026, 11, 20, 12))


def test_instant_is_read_in_the_tenant_zone() -> None:
    # 03:00 UTC is 12:00 in Seoul (open) and 22:00 the day before in New York.
    instant = datetime(2026, 11, 20, 3, tzinfo=UTC)
    assert state_at(config(), instant).state is ScheduleState.OPEN
    assert state_at(config(timezone="America/New_York"), instant).state is ScheduleState.CLOSED


@pytest.mark.parametrize(
    ("zone_name", "day", "hour"),
    [
        ("America/New_York", date(2026, 3, 7), 23),  # Saturday before spring forward
        ("America/New_York", date(2026, 3, 8), 1),  # the after-midnight part on switch day
        ("America/New_York", date(2026, 10, 31), 23),  # Saturday before fall back
        ("America/New_York", date(2026, 11, 1), 1),
        ("Europe/Berlin", date(2026, 3, 28), 23),
        ("Europe/Berlin", date(2026, 3, 29), 1),
        ("Europe/Berlin", date(2026, 10, 25), 1),
    ],
)
def test_overnight_interval_across_a_dst_switch(zone_name: str, day: date, hour: int) -> None:
    tz = ZoneInfo(zone_name)
    cfg = config(timezone=zone_name, holidays=())
    when = datetime.combine(day, time(hour), tzinfo=tz)
    assert state_at(cfg, when).state is ScheduleState.OPEN
    after = datetime.combine(day, time(3) if hour < 12 else time(21), tzinfo=tz)
    assert state_at(cfg, after).state is ScheduleState.CLOSED


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon", {0}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("fri-mon", {4, 5, 6, 0}),
        ("sat,sun", {5, 6}),
        ("Sat, Sun", {5, 6}),
        ("daily", set(range(7))),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("weekend", {5, 6}),
    ],
)
def test_parse_days(spec: str, days: set[int]) -> None:
    assert parse_days(spec) == frozenset(days)
    assert parse_days(format_days(frozenset(days))) == frozenset(days)


@pytest.mark.parametrize("spec", ["monday", "mon-xyz", "", "1"])
def test_parse_days_refuses_unknown_names(spec: str) -> None:
    with pytest.raises(ValueError, match="not a day"):
        parse_days(spec)


@pytest.mark.parametrize(
    ("text", "start", "end", "overnight"),
    [
        ("11:00-15:00", time(11), time(15), False),
        ("22:00-02:00", time(22), time(2), True),
        ("9:30-24:00", time(9, 30), time(0), True),
        (" 00:00 - 24:00 ", time(0), time(0), True),
    ],
)
def test_parse_interval(text: str, start: time, end: time, overnight: bool) -> None:
    interval = parse_interval(text)
    assert (interval.start, interval.end, interval.overnight) == (start, end, overnight)
    assert parse_interval(format_interval(interval)) == interval


@pytest.mark.parametrize(
    "text", ["16:00-25:00", "24:00-02:00", "11-15", "11:60-12:00", "24:30-01:00", "noon-one"]
)
def test_parse_interval_refuses_bad_times(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_interval(text)


def test_calendar_helpers() -> None:
    assert national_holiday("KR", date(2026, 12, 25)) == "Christmas Day"
    assert national_holiday(None, date(2026, 12, 25)) is None
    assert national_holiday("KR", date(2026, 12, 24)) is None
    assert calendar_known("KR", 2027)
    assert not calendar_known("KR", 2101)
    assert not calendar_known("XX", 2027)
    assert own_holiday((FOUNDING, NEW_YEAR_EVE), date(2030, 6, 15)) == FOUNDING
    assert own_holiday((FOUNDING,), date(2030, 6, 16)) is None
