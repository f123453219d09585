"""The console's SVG charts are pure functions: shapes proportional to the values, every
label escaped, a week's periods cut at each local midnight."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from ivr_engine.console.charts import Bar, Segment, day_spans, rate_line, stacked_bars, week_chart
from ivr_engine.domain.planner import CallState, Outcome
from ivr_engine.domain.timeline import TimelinePeriod

SEOUL = ZoneInfo("Asia/Seoul")
NS = "{http://www.w3.org/2000/svg}"


def _rects(svg: str) -> list[ElementTree.Element]:
    return list(ElementTree.fromstring(svg).iter(f"{NS}rect"))


def test_stacked_bars_are_proportional_and_stack() -> None:
    bars = [
        Bar("09", (Segment(4, "answered"), Segment(1, "missed"))),
        Bar("10", (Segment(2, "answered"), Segment(0, "missed"))),
    ]
    svg = stacked_bars(bars, title="calls")
    rects = _rects(svg)
    assert [r.get("class") for r in rects] == ["seg-answered", "seg-missed", "seg-answered"]
    heights = [float(r.get("height", 0)) for r in rects]
    assert abs(heights[0] / heights[2] - 2.0) < 0.01
    assert abs(heights[0] / heights[1] - 4.0) < 0.01
    # the missed segment sits on top of the answered one
    first, missed = rects[0], rects[1]
    assert abs(float(missed.get("y", 0)) + heights[1] - float(first.get("y", 0))) < 0.2


def test_labels_and_titles_are_escaped() -> None:
    svg = stacked_bars([Bar("<b>", (Segment(1, "x"),))], title='a "b" & <c>')
    ElementTree.fromstring(svg)  # well-formed
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&amp;" in svg


def test_an_empty_chart_still_draws_its_axis() -> None:
    svg = stacked_bars([Bar(f"{h:02d}", (Segment(0, "answered"),)) for h in range(24)], title="t")
    assert _rects(svg) == []
    assert ">00<" in svg and ">1<" in svg  # labels and an axis up to 1


def test_rate_line_leaves_gaps_for_days_without_calls() -> None:
    svg = rate_line([("a", 0.5), ("b", 1.0), ("c", None), ("d", 0.0)], title="rate")
    root = ElementTree.fromstring(svg)
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) == 2  # a-b, then d alone
    assert len(list(root.iter(f"{NS}circle"))) == 3
    assert "b: 100%" in svg and "d: 0%" in svg


def _period(start: datetime, end: datetime, state: CallState) -> TimelinePeriod:
    outcome = Outcome.FORWARD if state is CallState.OPEN else Outcome.ANNOUNCE
    return TimelinePeriod(start, end, state, outcome, f"{state.value} heard", "why")


def test_a_period_over_midnight_is_cut_into_both_days() -> None:
    start = date(2026, 11, 20)
    night = _period(
        datetime(2026, 11, 20, 18, tzinfo=SEOUL),
        datetime(2026, 11, 21, 2, tzinfo=SEOUL),
        CallState.OPEN,
    )
    spans = day_spans([night], start, 2, SEOUL)
    assert [(s.day, s.start_hour, s.end_hour) for s in spans] == [(0, 18.0, 24.0), (1, 0.0, 2.0)]


def test_week_chart_draws_each_state_with_what_the_caller_hears() -> None:
    start = date(2026, 11, 16)  # a Monday
    t0 = datetime(2026, 11, 16, tzinfo=SEOUL)
    periods = [
        _period(t0, t0 + timedelta(hours=11), CallState.CLOSED),
        _period(t0 + timedelta(hours=11), t0 + timedelta(hours=15), CallState.OPEN),
        _period(t0 + timedelta(hours=15), t0 + timedelta(days=7), CallState.LUNCH),
    ]
    svg = week_chart(periods, start, zone=SEOUL, title="week")
    states = [r.get("data-state") for r in _rects(svg)]
    assert states[:3] == ["closed", "open", "lunch"]
    assert len(states) == 3 + 6  # the last period fills the other six days
    assert "11-16 11:00–11-16 15:00 open: open heard" in svg
    assert re.search(r">11-16 월<", svg) and re.search(r">11-22 일<", svg)
