"""A call record told as what happened, step by step: pure, from the stored record's
columns (times, attempts, prompts, reasons), with phone numbers shown as the viewer may
see them.

    steps = record_steps(record, show=lambda n: mask(n))
    # [Step(0.0, "start", "010-12**-56** called 0505-12*-45**"), Step(0.2, "plan", ...), ...]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr_engine.domain.causes import cause_txt
from ivr_engine.domain.numbers import format_number


@dataclass(frozen=True)
class Step:
    """One line of the story: seconds after the start, a kind, a text."""

    offset: float | None
    kind: str
    text: str


def _at(record: Mapping[str, Any], column: str) -> float | None:
    value, start = record.get(column), record["start_time"]
    if not isinstance(value, datetime):
        return None
    return round((value - start).total_seconds(), 2)


def record_steps(record: Mapping[str, Any], show: Callable[[str], str]) -> list[Step]:
    """The record's story in order."""
    caller = show(record["caller"]) if record.get("caller") else "anonymous"
    steps = [Step(0.0, "start", f"{caller} → {format_number(record['number'])}")]
    for reason in record.get("reasons") or []:
        steps.append(Step(None, "plan", str(reason)))
    if record.get("plan_state"):
        steps.append(Step(None, "state", str(record["plan_state"])))
    for prompt in record.get("prompts") or []:
        result = f" [{prompt.get('result')}]" if prompt.get("result") else ""
        steps.append(
            Step(None, str(prompt.get("kind", "play")), f"{prompt.get('label', '')}{result}")
        )
    if record.get("ring_time") is not None:
        steps.append(Step(_at(record, "ring_time"), "ring", "targets ringing"))
    for attempt in record.get("attempts") or []:
        cause = attempt.get("cause")
        why = f", cause {cause} ({cause_txt(int(cause))})" if cause is not None else ""
        steps.append(
            Step(
                None,
                "attempt",
                f"{show(str(attempt.get('target', '')))}: {attempt.get('result')} after "
                f"{float(attempt.get('ring_seconds') or 0):.1f}s{why}",
            )
        )
    if record.get("answer_time") is not None:
        target = record.get("answered_target")
        who = f" by {show(str(target))}" if target else ""
        steps.append(Step(_at(record, "answer_time"), "answer", f"answered{who}"))
    if record.get("connect_time") is not None:
        steps.append(Step(_at(record, "connect_time"), "bridge", "caller and target connected"))
    cause = record.get("hangup_cause")
    why = f", cause {cause} ({cause_txt(int(cause))})" if cause is not None else ""
    by = record.get("hangup_by") or "?"
    steps.append(
        Step(_at(record, "end_time"), "end", f"{record['disposition']}: hung up by {by}{why}")
    )
    return steps
