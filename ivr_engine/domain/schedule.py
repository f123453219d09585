"""When a number is open: the state of its schedule at an instant.

Evaluation order (the first that applies wins):

1. holiday: a one-off date, then a yearly date, then the national calendar;
2. block period;
3. lunch;
4. open intervals;
5. closed.

A number without a schedule is open around the clock (holidays still apply).

Intervals are wall-clock times in the tenant's time zone, so a day with a daylight-saving
switch keeps "open 22:00-02:00" meaning what the clock on the wall says. An overnight
interval belongs to the weekday it starts on; its part after midnight applies on the next
calendar day. A holiday covers its calendar day from 00:00 to 24:00 and nothing else: the
part after midnight of an interval that started on the day before a holiday is overruled by
the holiday, and the part after midnight of an interval that started on a holiday is open
(the next day is not a holiday). One rule, checked against the calendar day of the instant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from ivr_engine.domain.calendar import national_holiday, own_holiday
from ivr_engine.domain.model import BlockPeriod, Holiday, Interval, NumberConfig, Schedule

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_INDEX = {name: i for i, name in enumerate(DAY_NAMES)}
_DAY_GROUPS = {
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "all": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekend": frozenset({5, 6}),
    "weekends": frozenset({5, 6}),
}
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAY_SECONDS = 24 * 3600


class ScheduleState(StrEnum):
    """What the schedule says at an instant."""

    OPEN = "open"
    LUNCH = "lunch"
    CLOSED = "closed"
    HOLIDAY = "holiday"
    BLOCK_PERIOD = "block_period"


@dataclass(frozen=True)
class StateAt:
    """The schedule state at an instant and why (the holiday or block period that applies)."""

    state: ScheduleState
    reason: str
    holiday: Holiday | None = None
    block_period: BlockPeriod | None = None
    national_holiday_name: str | None = None


# ---- the words of a schedule: days and intervals -------------------------------------------


def parse_days(spec: str) -> frozenset[int]:
    """Weekdays (0 = Monday) named by ``mon``, ``mon-fri``, ``fri-mon``, ``sat,sun``,
    ``daily``, ``weekdays`` or ``weekend``; raises ValueError for anything else."""
    days: set[int] = set()
    for part in str(spec).lower().replace(" ", "").split(","):
        if part in _DAY_GROUPS:
            days |= _DAY_GROUPS[part]
            continue
        first, sep, last = part.partition("-")
        if first not in _DAY_INDEX or (sep and last not in _DAY_INDEX):
            raise ValueError(
                f"{spec!r} is not a day (use mon..sun, mon-fri, daily, weekdays or weekend)"
            )
        start, stop = _DAY_INDEX[first], _DAY_INDEX[last or first]
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    """The shortest day spec for a set of weekdays, e.g. ``mon-fri`` or ``sat,sun``."""
    if days == frozenset(range(7)):
        return "daily"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" for r in runs
    ]
    return ",".join(parts)


def parse_interval(text: str) -> Interval:
    """``HH:MM-HH:MM`` as an Interval (``24:00`` allowed as an end); raises ValueError."""
    match = _INTERVAL.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a time interval HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} is not a time interval HH:MM-HH:MM")
    return Interval(time(h1, m1), time(h2 % 24, m2))


def format_time(t: time, *, end: bool = False) -> str:
    """``HH:MM``; an end at midnight reads ``24:00`` unless the interval is overnight."""
    if end and t == time(0):
        return "24:00"
    return f"{t.hour:02d}:{t.minute:02d}"


def format_interval(interval: Interval) -> str:
    """An Interval as ``HH:MM-HH:MM``."""
    return f"{format_time(interval.start)}-{format_time(interval.end, end=True)}"


# ---- a schedule compiled per calendar weekday -------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A piece of an interval on one calendar weekday, in seconds of the day [start, end)."""

    start: int
    end: int
    interval: Interval
    reason: str
    origin: int  # the weekday the interval starts on (the day before for an overnight part)
    block_period: BlockPeriod | None = None


@dataclass(frozen=True)
class CompiledSchedule:
    """Per calendar weekday: the open, lunch and block-period segments that apply that day."""

    open: tuple[tuple[Segment, ...], ...]
    lunch: tuple[tuple[Segment, ...], ...]
    block: tuple[tuple[Segment, ...], ...]


def _seconds(t: time) -> int:
    """Seconds since midnight."""
    return t.hour * 3600 + t.minute * 60 + t.second


def _segments(
    entries: Sequence[tuple[int, Interval, str, BlockPeriod | None]],
) -> tuple[tuple[Segment, ...], ...]:
    """Split intervals (weekday, interval, label) into per-calendar-day segments."""
    days: list[list[Segment]] = [[] for _ in range(7)]
    for weekday, iv, label, period in entries:
        start, end = _seconds(iv.start), _seconds(iv.end)
        text = f"{label} {format_interval(iv)}"
        if not iv.overnight:
            days[weekday].append(Segment(start, end, iv, text, weekday, period))
            continue
        days[weekday].append(Segment(start, DAY_SECONDS, iv, text, weekday, period))
        if end > 0:
            days[(weekday + 1) % 7].append(Segment(0, end, iv, text, weekday, period))
    return tuple(tuple(sorted(d, key=lambda s: (s.start, s.end))) for d in days)


_COMPILED: dict[int, tuple[Schedule, CompiledSchedule]] = {}
_COMPILED_MAX = 262144  # identity entries are two references each; sized for 100k+ numbers


def compile_schedule(schedule: Schedule) -> CompiledSchedule:
    """The schedule as segments per calendar weekday, cached per schedule object (by
    identity, so a call does not hash the whole schedule; the entry keeps the object alive
    so its id cannot be reused) and, behind that, per equal schedule."""
    entry = _COMPILED.get(id(schedule))
    if entry is not None and entry[0] is schedule:
        return entry[1]
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    compiled = _compile(schedule)
    _COMPILED[id(schedule)] = (schedule, compiled)
    return compiled


@lru_cache(maxsize=65536)
def _compile(schedule: Schedule) -> CompiledSchedule:
    """Compile one schedule (cached per equal schedule)."""
    opened = [(wd, iv, "open hours", None) for wd, ivs in schedule.open for iv in ivs]
    lunch = [(wd, iv, "lunch break", None) for wd, ivs in schedule.lunch for iv in ivs]
    block = [
        (wd, bp.interval, f"block period {bp.name}", bp)
        for bp in schedule.block_periods
        for wd in sorted(bp.days)
    ]
    return CompiledSchedule(_segments(opened), _segments(lunch), _segments(block))


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo of a time zone name (cached)."""
    return ZoneInfo(name)


def local_time(when: datetime, timezone: str) -> datetime:
    """``when`` as wall-clock time in ``timezone``; raises ValueError for a naive datetime."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone; pass an aware datetime")
    return when.astimezone(zone(timezone))


_OPEN_ALWAYS = StateAt(ScheduleState.OPEN, "no schedule: open around the clock")
_CLOSED = StateAt(ScheduleState.CLOSED, "outside open hours")


def schedule_state(schedule: Schedule | None, local: datetime) -> StateAt:
    """The state by schedule alone (no holidays) at a wall-clock time."""
    if schedule is None:
        return _OPEN_ALWAYS
    compiled = compile_schedule(schedule)
    weekday = local.weekday()
    sec = local.hour * 3600 + local.minute * 60 + local.second
    for seg in compiled.block[weekday]:
        if seg.start <= sec < seg.end:
            return StateAt(ScheduleState.BLOCK_PERIOD, seg.reason, block_period=seg.block_period)
    for seg in compiled.lunch[weekday]:
        if seg.start <= sec < seg.end:
            return StateAt(ScheduleState.LUNCH, seg.reason)
    for seg in compiled.open[weekday]:
        if seg.start <= sec < seg.end:
            return StateAt(ScheduleState.OPEN, seg.reason)
    return _CLOSED


def holiday_state(config: NumberConfig, local: datetime) -> StateAt | None:
    """The holiday that applies on the calendar day of ``local``, if any."""
    day = local.date()
    holiday = own_holiday(config.holidays, day)
    if holiday is not None:
        kind = "yearly holiday" if holiday.yearly else "holiday"
        return StateAt(
            ScheduleState.HOLIDAY, f"{kind} {holiday.name} ({day.isoformat()})", holiday=holiday
        )
    name = national_holiday(config.national_holidays, day)
    if name is not None:
        return StateAt(
            ScheduleState.HOLIDAY,
            f"national holiday {name} ({config.national_holidays}, {day.isoformat()})",
            national_holiday_name=name,
        )
    return None


def state_at(config: NumberConfig, when: datetime) -> StateAt:
    """The schedule state of a number at an aware instant, in the number's time zone."""
    local = local_time(when, config.timezone)
    return holiday_state(config, local) or schedule_state(config.schedule, local)
