"""Properties of the schedule and the planner over generated configurations and instants."""

import os
import time as systime
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_pkg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr_engine.domain.model import (
    BlockPeriod,
    ForwardTarget,
    Holiday,
    Interval,
    NumberConfig,
    NumberStatus,
    Schedule,
)
from ivr_engine.domain.planner import CallState, DialStep, Outcome, plan_call
from ivr_engine.domain.schedule import ScheduleState, state_at

PROPS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CALLERS = ["01011112222", "01022223333", "01033334444", "023334444"]

clock = st.builds(lambda m: time(m // 60, m % 60), st.integers(0, 47).map(lambda i: i * 30))
intervals = st.builds(Interval, clock, clock)
weekly = st.dictionaries(
    st.integers(0, 6), st.lists(intervals, min_size=1, max_size=2), max_size=7
).map(lambda d: tuple(sorted((k, tuple(v)) for k, v in d.items())))
block_periods = st.lists(
    st.builds(BlockPeriod, st.just("bp"), st.frozensets(st.integers(0, 6), min_size=1), intervals),
    max_size=2,
).map(tuple)
schedules = st.one_of(st.none(), st.builds(Schedule, weekly, weekly, block_periods))
own_holidays = st.lists(
    st.builds(
        Holiday,
        st.integers(1, 12),
        st.integers(1, 28),
        st.just("h"),
        st.sampled_from([None, 2026, 2027]),
    ),
    max_size=3,
).map(tuple)
zones = st.sampled_from(["Asia/Seoul", "America/New_York", "Europe/Berlin", "UTC"])
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
configs = st.builds(
    NumberConfig,
    number=st.just("05051234567"),
    tenant_id=st.just("t"),
    tenant_name=st.just("T"),
    timezone=zones,
    status=st.sampled_from(list(NumberStatus)),
    targets=st.lists(
        st.builds(ForwardTarget, st.sampled_from(["01099998888", "023334444"]), st.integers(1, 60)),
        max_size=2,
    ).map(tuple),
    schedule=schedules,
    holidays=own_holidays,
    national_holidays=st.sampled_from([None, "KR"]),
    block_list=st.frozensets(st.sampled_from(CALLERS), max_size=2),
    free_pass=st.frozensets(st.sampled_from(CALLERS), max_size=2),
    block_anonymous=st.booleans(),
)


def _covers(iv: Interval, t: time, started_today: bool) -> bool:
    """Reference: does an interval that started today (or yesterday) cover wall time t?"""
    if started_today:
        return iv.start <= t < iv.end if not iv.overnight else t >= iv.start
    return iv.overnight and t < iv.end


def reference_state(config: NumberConfig, when: datetime) -> ScheduleState:
    """An independent, slow evaluation of the documented order."""
    local = when.astimezone(ZoneInfo(config.timezone))
    day, t, wd = local.date(), local.time().replace(tzinfo=None), local.weekday()
    for h in config.holidays:
        if (h.month, h.day) == (day.month, day.day) and h.year in (None, day.year):
            return ScheduleState.HOLIDAY
    if config.national_holidays and day in holidays_pkg.country_holidays(
        config.national_holidays, years=day.year
    ):
        return ScheduleState.HOLIDAY
    schedule = config.schedule
    if schedule is None:
        return ScheduleState.OPEN
    prev = (wd - 1) % 7
    for bp in schedule.block_periods:
        if (wd in bp.days and _covers(bp.interval, t, True)) or (
            prev in bp.days and _covers(bp.interval, t, False)
        ):
            return ScheduleState.BLOCK_PERIOD
    for table, state in (
        (schedule.lunch, ScheduleState.LUNCH),
        (schedule.open, ScheduleState.OPEN),
    ):
        days = dict(table)
        if any(_covers(iv, t, True) for iv in days.get(wd, ())) or any(
            _covers(iv, t, False) for iv in days.get(prev, ())
        ):
            return state
    return ScheduleState.CLOSED


@PROPS
@given(configs, instants)
def test_every_instant_has_exactly_the_documented_state(
    config: NumberConfig, when: datetime
) -> None:
    at = state_at(config, when)
    assert at.state is reference_state(config, when)
    assert (at.holiday is not None or at.national_holiday_name is not None) == (
        at.state is ScheduleState.HOLIDAY
    )
    assert (at.block_period is not None) == (at.state is ScheduleState.BLOCK_PERIOD)


@PROPS
@given(configs, instants, st.sampled_from(CALLERS))
def test_a_blocked_caller_never_reaches_a_dial_step(
    config: NumberConfig, when: datetime, caller: str
) -> None:
    config = NumberConfig(**{**config.__dict__, "block_list": config.block_list | {caller}})
    result = plan_call(config, caller, config.number, when)
    assert not any(isinstance(step, DialStep) for step in result.steps)
    assert result.outcome is Outcome.ANNOUNCE
    assert result.state in (CallState.BLOCKED_CALLER, CallState.PAUSED, CallState.UNALLOCATED)


@PROPS
@given(configs, instants, st.sampled_from(CALLERS))
def test_a_free_pass_caller_of_an_active_number_always_reaches_the_targets(
    config: NumberConfig, when: datetime, caller: str
) -> None:
    config = NumberConfig(
        **{
            **config.__dict__,
            "status": NumberStatus.ACTIVE,
            "targets": config.targets or (ForwardTarget("01099998888"),),
            "block_list": config.block_list - {caller},
            "free_pass": config.free_pass | {caller},
        }
    )
    result = plan_call(config, caller, config.number, when)
    dial = result.steps[-1]
    assert isinstance(dial, DialStep) and dial.targets == config.targets
    assert result.outcome is Outcome.FORWARD
    assert result.state.value == state_at(config, when).state.value


@pytest.fixture
def machine_zone() -> Iterator[None]:
    """Lets a test change the process time zone; restores it afterwards."""
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    systime.tzset()


@PROPS
@given(configs, instants, st.sampled_from([*CALLERS, "anonymous"]))
def test_results_do_not_depend_on_the_machine_zone(
    machine_zone: None, config: NumberConfig, when: datetime, caller: str
) -> None:
    results = []
    for name in ("UTC", "Asia/Seoul", "America/Los_Angeles", "Pacific/Kiritimati"):
        os.environ["TZ"] = name
        systime.tzset()
        results.append(plan_call(config, caller, config.number, when).to_json())
    assert all(r == results[0] for r in results)


OVERNIGHT = Schedule(open=tuple((d, (Interval(time(22), time(2)),)) for d in range(7)))
SWITCHES = [
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 10, 25, 1, tzinfo=UTC)),
]


@PROPS
@given(st.sampled_from(SWITCHES), st.integers(-36 * 60, 36 * 60))
def test_overnight_intervals_keep_wall_clock_meaning_across_dst(
    switch: tuple[str, datetime], minutes: int
) -> None:
    zone_name, moment = switch
    when = moment + timedelta(minutes=minutes)
    config = NumberConfig(
        "05051234567",
        "t",
        "T",
        timezone=zone_name,
        schedule=OVERNIGHT,
        targets=(ForwardTarget("01011112222"),),
    )
    local = when.astimezone(ZoneInfo(zone_name))
    expected = local.hour >= 22 or local.hour < 2
    assert (state_at(config, when).state is ScheduleState.OPEN) == expected
    assert (
        plan_call(config, "01020003000", "05051234567", when).outcome is Outcome.FORWARD
    ) == expected
