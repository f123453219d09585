"""A number's week as contiguous periods: when callers are forwarded, when they hear which
announcement, and why.

The timeline asks the planner itself at every instant where the answer can change (each
interval boundary, each midnight, each daylight-saving switch), for an ordinary caller on
neither caller list, so it can never disagree with live calls. Equal neighbours are merged,
also across midnight; a number that is paused or terminated is one period for the week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from ivr_engine.domain.model import NumberConfig, NumberStatus
from ivr_engine.domain.numbers import NumberKind, PhoneNumber
from ivr_engine.domain.planner import CallPlan, CallState, Outcome, plan_for
from ivr_engine.domain.render import describe_hearing
from ivr_engine.domain.schedule import compile_schedule, zone

ANY_CALLER = PhoneNumber("", NumberKind.OTHER, "any caller")


@dataclass(frozen=True)
class TimelinePeriod:
    """A stretch of time [start, end) during which every ordinary call is handled alike."""

    start: datetime
    end: datetime
    state: CallState
    outcome: Outcome
    hears: str  # what the caller hears, e.g. 'coloring "...", ring 010-11**-22** 20s'
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The period as JSON (ISO times with their offset)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "state": self.state.value,
            "outcome": self.outcome.value,
            "hears": self.hears,
            "reason": self.reason,
        }


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a calendar day in a zone (normalised through UTC, so a day
    that starts with a daylight-saving gap starts at the real first instant)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def _transitions(tz: ZoneInfo, begin: datetime, end: datetime) -> list[datetime]:
    """Instants in [begin, end) where the zone's UTC offset changes (found per day by
    bisection to the second)."""
    found: list[datetime] = []
    lo_day = begin.astimezone(UTC)
    while lo_day < end:
        hi_day = min(lo_day + timedelta(days=1), end.astimezone(UTC))
        if lo_day.astimezone(tz).utcoffset() != hi_day.astimezone(tz).utcoffset():
            lo, hi = lo_day, hi_day
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
        lo_day = hi_day
    return found


def _boundaries(config: NumberConfig, tz: ZoneInfo, start: date, days: int) -> set[datetime]:
    """Every instant where the schedule may change state, in UTC."""
    found: set[datetime] = set()
    compiled = compile_schedule(config.schedule) if config.schedule is not None else None
    for offset in range(-1, days + 1):
        day = start + timedelta(days=offset)
        seconds = {0}
        if compiled is not None:
            wd = day.weekday()
            for seg in (*compiled.open[wd], *compiled.lunch[wd], *compiled.block[wd]):
                seconds.update((seg.start, seg.end))
        for sec in seconds:
            if sec >= 86400:
                continue
            naive = datetime.combine(day, time(sec // 3600, sec // 60 % 60, sec % 60))
            for fold in (0, 1):
                found.add(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC))
    return found


def _period(begin: datetime, end: datetime, plan: CallPlan, tz: ZoneInfo) -> TimelinePeriod:
    """A period from a plan."""
    return TimelinePeriod(
        begin.astimezone(tz),
        end.astimezone(tz),
        plan.state,
        plan.outcome,
        describe_hearing(plan),
        "; ".join(plan.reasons),
    )


def week_timeline(config: NumberConfig, start: date, days: int = 7) -> list[TimelinePeriod]:
    """Contiguous periods covering ``days`` calendar days from ``start`` (local midnight to
    local midnight in the number's zone), with equal neighbours merged."""
    if days < 1:
        raise ValueError("days must be at least 1")
    tz = zone(config.timezone)
    begin = local_midnight(start, tz)
    end = local_midnight(start + timedelta(days=days), tz)
    if config.status is not NumberStatus.ACTIVE:
        return [_period(begin, end, plan_for(config, ANY_CALLER, begin), tz)]
    inside = {
        t
        for t in _boundaries(config, tz, start, days) | set(_transitions(tz, begin, end))
        if begin < t < end
    }
    instants = [begin.astimezone(UTC), *sorted(inside), end.astimezone(UTC)]
    periods: list[TimelinePeriod] = []
    for at, until in pairwise(instants):
        period = _period(at, until, plan_for(config, ANY_CALLER, at), tz)
        last = periods[-1] if periods else None
        if last is not None and (last.state, last.outcome, last.hears, last.reason) == (
            period.state,
            period.outcome,
            period.hears,
            period.reason,
        ):
            periods[-1] = TimelinePeriod(
                last.start, period.end, last.state, last.outcome, last.hears, last.reason
            )
        else:
            periods.append(period)
    return periods
