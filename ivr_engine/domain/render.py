"""Plans and week timelines as text for people (``ivr-engine plan``), numbers masked.

JSON forms live on the objects themselves (``CallPlan.to_json``, ``TimelinePeriod.to_json``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from ivr_engine.domain.causes import cause_txt
from ivr_engine.domain.model import NumberConfig, Prompt, PromptKind, Strategy
from ivr_engine.domain.numbers import format_number, mask
from ivr_engine.domain.planner import (
    AnswerStep,
    CallPlan,
    DialStep,
    HangupStep,
    MenuStep,
    PlayStep,
    QueueStep,
    Step,
    masked_caller,
)

if TYPE_CHECKING:
    from ivr_engine.domain.timeline import TimelinePeriod


def _prompt(kind: PromptKind | None, prompt: Prompt | None, system: str | None) -> str:
    """``after_hours "..."`` or ``system prompt after-hours``."""
    if prompt is not None:
        label = kind.value if kind is not None else "prompt"
        return f"{label} {prompt.describe()}"
    return f"system prompt {system}"


def _ring(step: DialStep) -> str:
    """``ring 010-11**-22** 20s then 02-33*-44** 15s``."""
    joiner = " then " if step.strategy is Strategy.SEQUENTIAL else " and "
    rings = joiner.join(f"{mask(t.number)} {t.ring_seconds}s" for t in step.targets)
    return f"ring {rings}" + (" at once" if step.strategy is Strategy.SIMULTANEOUS else "")


def describe_step(step: Step) -> str:
    """One step in words, numbers masked."""
    if isinstance(step, PlayStep):
        how = "early media" if step.early_media else "after answer"
        return f"play {_prompt(step.prompt_kind, step.prompt, step.system_prompt)} ({how})"
    if isinstance(step, AnswerStep):
        return "answer the call"
    if isinstance(step, MenuStep | QueueStep):
        return step.describe()
    if isinstance(step, DialStep):
        shown = (
            format_number(step.caller_id)
            if step.caller_id_mode.value == "virtual_number"
            else mask(step.caller_id)
        )
        parts = [
            f"dial: {_ring(step)} ({step.strategy.value})",
            f"caller ID shown {shown or 'anonymous'}",
            f"coloring {step.coloring.describe()}" if step.coloring else "normal ringback",
        ]
        if step.whisper is not None:
            parts.append(f"whisper to the callee {step.whisper.describe()}")
        if step.max_talk_seconds:
            parts.append(f"talk at most {step.max_talk_seconds}s")
        return "; ".join(parts)
    if isinstance(step, HangupStep):
        return f"hang up with cause {step.cause} ({cause_txt(step.cause).lower()}): {step.reason}"
    return step.action  # pragma: no cover - every step kind is handled above


def describe_hearing(plan: CallPlan) -> str:
    """What the caller hears, in one line: ``forward: coloring "...", ring ...`` or
    ``announce: after_hours "..."``."""
    heard: list[str] = []
    for step in plan.steps:
        if isinstance(step, PlayStep):
            heard.append(_prompt(step.prompt_kind, step.prompt, step.system_prompt))
        elif isinstance(step, DialStep):
            heard.append(f"coloring {step.coloring.describe()}" if step.coloring else "ringback")
            heard.append(_ring(step))
        elif isinstance(step, MenuStep | QueueStep):
            heard.append(step.describe())
    return f"{plan.outcome.value}: {', '.join(heard)}"


def format_plan(plan: CallPlan) -> str:
    """A plan step by step with its reasons, for ``ivr-engine plan``."""
    tenant = (
        f"tenant {plan.tenant_id}, config v{plan.config_version}" if plan.tenant_id else "no tenant"
    )
    lines = [
        f"{format_number(plan.number)} ({tenant}) called by {masked_caller(plan.caller)}",
        f"state: {plan.state.value}    outcome: {plan.outcome.value}",
        "steps:",
    ]
    lines += [f"  {i}. {describe_step(step)}" for i, step in enumerate(plan.steps, 1)]
    lines.append("reasons:")
    lines += [f"  - {reason}" for reason in plan.reasons]
    return "\n".join(lines)


def _clock(moment: datetime, day_start: datetime) -> str:
    """HH:MM of an instant, ``24:00`` for the end of the day that starts at day_start."""
    if moment > day_start and moment.date() != day_start.date():
        return "24:00"
    return moment.strftime("%H:%M")


def _day_pieces(period: TimelinePeriod) -> list[tuple[datetime, datetime]]:
    """A period cut at each local midnight it spans."""
    tz = period.start.tzinfo
    pieces: list[tuple[datetime, datetime]] = []
    cursor = period.start
    while cursor < period.end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), tzinfo=tz)
        midnight = midnight.astimezone(UTC).astimezone(tz)
        stop = min(midnight, period.end)
        pieces.append((cursor, stop))
        cursor = stop
    return pieces


def format_week(config: NumberConfig, periods: list[TimelinePeriod]) -> str:
    """A readable timeline: one line per period, grouped by day (blank line between days)."""
    lines = [
        f"{format_number(config.number)}  {config.tenant_name} ({config.tenant_id}), "
        f"{config.timezone}, status {config.status.value}, config v{config.version}"
    ]
    current = None
    for period in periods:
        for begin, end in _day_pieces(period):
            day = begin.date()
            if day != current:
                lines.append("")
                current = day
            label = begin.strftime("%a %d %b")
            span = f"{begin.strftime('%H:%M')}-{_clock(end, begin)}"
            lines.append(f"{label}  {span}  {period.state.value:<12}  {period.hears}")
    return "\n".join(lines)
