"""Charts drawn as SVG on the server: pure functions from numbers to markup, so pages work
without JavaScript and the charts are tested like any other function.

    stacked_bars([Bar("09", (Segment(4, "answered"), Segment(1, "missed")))], title="...")
    rate_line([("11-20", 0.8), ("11-21", None)], title="...")
    week_chart(periods, start, days=7, zone=ZoneInfo("Asia/Seoul"))

Colours come from CSS classes (``seg-answered``, ``state-open``, ...), so the stylesheet
decides them and a dark theme needs no change here. Every shape carries a ``<title>``
tooltip with its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from ivr_engine.domain.timeline import TimelinePeriod, local_midnight


@dataclass(frozen=True)
class Segment:
    """A part of a bar: its value and its CSS class suffix."""

    value: float
    kind: str


@dataclass(frozen=True)
class Bar:
    """One bar: a label under it and its stacked segments, bottom first."""

    label: str
    segments: tuple[Segment, ...]

    @property
    def total(self) -> float:
        """The height of the whole bar."""
        return sum(s.value for s in self.segments)


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )
    return head + "".join(body) + "</svg>"


def _nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return factor * step
    return 10 * step


def stacked_bars(
    bars: Sequence[Bar], *, title: str, width: int = 640, height: int = 220, every: int = 1
) -> str:
    """Vertical stacked bars with a value axis; every ``every``-th label is written."""
    left, bottom, top = 34, 22, 8
    plot_w, plot_h = width - left - 4, height - bottom - top
    top_value = _nice_max(max((b.total for b in bars), default=0))
    body = []
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line class="grid" x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    slot = plot_w / max(len(bars), 1)
    for i, bar in enumerate(bars):
        x = left + i * slot + slot * 0.15
        y = top + plot_h
        for seg in bar.segments:
            h = plot_h * seg.value / top_value
            if h <= 0:
                continue
            y -= h
            body.append(
                f'<rect class="seg-{escape(seg.kind)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{h:.1f}"><title>{escape(bar.label)} '
                f"{escape(seg.kind)}: {seg.value:g}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{height - 6}" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
    return _svg(width, height, title, body)


def rate_line(
    points: Sequence[tuple[str, float | None]], *, title: str, width: int = 640, height: int = 200
) -> str:
    """A line of rates (0..1) per label; None leaves a gap."""
    left, bottom, top = 40, 22, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    body = []
    for pct in (0, 50, 100):
        y = top + plot_h - plot_h * pct / 100
        body.append(f'<line class="grid" x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    step = plot_w / max(len(points) - 1, 1)
    run: list[str] = []
    runs: list[list[str]] = []
    for i, (label, rate) in enumerate(points):
        x = left + i * step
        if rate is None:
            if run:
                runs.append(run)
            run = []
            continue
        y = top + plot_h - plot_h * rate
        run.append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>'
            f"{escape(label)}: {round(rate * 100)}%</title></circle>"
        )
    if run:
        runs.append(run)
    body[:0] = [f'<polyline class="line" fill="none" points="{" ".join(r)}"/>' for r in runs]
    every = max(1, len(points) // 8)
    for i, (label, _rate) in enumerate(points):
        if i % every == 0:
            body.append(
                f'<text class="axis" x="{left + i * step:.1f}" y="{height - 6}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    return _svg(width, height, title, body)


@dataclass(frozen=True)
class DaySpan:
    """A piece of a timeline period inside one calendar day: hours from local midnight."""

    day: int  # 0 = the first day of the chart
    start_hour: float
    end_hour: float
    period: TimelinePeriod


def day_spans(
    periods: Sequence[TimelinePeriod], start: date, days: int, zone: ZoneInfo
) -> list[DaySpan]:
    """The periods cut at each local midnight, as hour ranges per day (a day of 23 or 25
    hours, at a daylight-saving switch, is scaled to 24)."""
    spans = []
    for d in range(days):
        begin = local_midnight(start + timedelta(days=d), zone)
        end = local_midnight(start + timedelta(days=d + 1), zone)
        length = (end - begin).total_seconds()
        for p in periods:
            lo, hi = max(p.start, begin), min(p.end, end)
            if lo >= hi:
                continue
            spans.append(
                DaySpan(
                    d,
                    24 * (lo - begin).total_seconds() / length,
                    24 * (hi - begin).total_seconds() / length,
                    p,
                )
            )
    return spans


def week_chart(
    periods: Sequence[TimelinePeriod],
    start: date,
    *,
    zone: ZoneInfo,
    days: int = 7,
    day_names: Sequence[str] = ("월", "화", "수", "목", "금", "토", "일"),
    title: str = "week",
    width: int = 720,
) -> str:
    """A week as rows of days and columns of hours, each period coloured by its state
    (``state-open``, ``state-lunch``, ...), with what the caller hears as its tooltip."""
    left, row, top = 78, 26, 18
    plot_w = width - left - 6
    height = top + row * days + 4
    body = []
    for h in range(0, 25, 3):
        x = left + plot_w * h / 24
        body.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - 4}"/>'
        )
        body.append(
            f'<text class="axis" x="{x:.1f}" y="{top - 6}" text-anchor="middle">{h:02d}</text>'
        )
    for d in range(days):
        day = start + timedelta(days=d)
        y = top + d * row
        body.append(
            f'<text class="axis" x="4" y="{y + row * 0.65:.1f}">'
            f"{day:%m-%d} {escape(day_names[day.weekday()])}</text>"
        )
    for s in day_spans(periods, start, days, zone):
        x = left + plot_w * s.start_hour / 24
        w = plot_w * (s.end_hour - s.start_hour) / 24
        y = top + s.day * row + 3
        p = s.period
        tip = f"{_hhmm(p.start, zone)}–{_hhmm(p.end, zone)} {p.state.value}: {p.hears}"
        body.append(
            f'<rect class="state-{escape(p.state.value)} outcome-{escape(p.outcome.value)}" '
            f'x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{row - 6}" '
            f'data-state="{escape(p.state.value)}"><title>{escape(tip)}</title></rect>'
        )
    return _svg(width, height, title, body)


def _hhmm(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%m-%d %H:%M")
