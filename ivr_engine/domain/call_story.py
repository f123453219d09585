"""What happened in one call, told from its stored record: the steps a console shows under
"what happened" (통화 흐름), in the order they happened.

Pure: the record's columns (and the call's queue stays and offers) come in as mappings, the
way to show a phone number comes in as a function (masked, or in full for a reveal), and
times stay aware datetimes for the caller to put in the tenant's zone.

    steps = call_story(record, stays, offers, show=mask)
    [(s.kind, s.text) for s in steps]
    # [("start", "010-12**-56** called 0505-123-4567"), ("plan", "open -> forward: ..."),
    #  ("ring", "targets ringing"), ("attempt", "010-11**-22**: busy (cause 17), rang 0.4 s"),
    #  ...]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ivr_engine.domain.causes import CAUSE_TXT
from ivr_engine.domain.numbers import format_number

Row = Mapping[str, Any]

_HANGUP_BY = {"caller": "the caller hung up", "callee": "the callee hung up"}
_PROMPT_KINDS = {"coloring": "coloring", "whisper": "whisper to the callee", "play": "played"}


@dataclass(frozen=True)
class Step:
    """One step of a call: when (None where the record keeps no time), what kind, what."""

    at: datetime | None
    kind: str  # start, plan, prompt, queue, offer, ring, attempt, answer, connect, end
    text: str


def _cause(cause: int | None) -> str:
    if cause is None:
        return ""
    return f" (cause {cause}: {CAUSE_TXT.get(cause, 'unknown')})"


def _plan(record: Row) -> list[Step]:
    state = record.get("plan_state")
    reasons = list(record.get("reasons") or ())
    if state is None and not reasons:
        return [Step(record["start_time"], "plan", "no plan was made")]
    text = f"plan: {state}" if state else "plan"
    if reasons:
        text += "; " + "; ".join(str(r) for r in reasons)
    return [Step(record["start_time"], "plan", text)]


def _prompts(record: Row) -> list[Step]:
    out = []
    for p in record.get("prompts") or ():
        kind = _PROMPT_KINDS.get(p.get("kind", ""), p.get("kind", "played"))
        result = f" [{p['result']}]" if p.get("result") else ""
        out.append(Step(None, "prompt", f"{kind}: {p.get('label') or p.get('media')}{result}"))
    return out


def _offer(o: Row) -> Step:
    ring = f", rang {float(o['ring_seconds']):.1f} s" if o["ring_seconds"] is not None else ""
    text = f"offered to agent {o['agent_id']}: {o['result'] or 'ringing'}{ring}"
    return Step(o["offered_at"], "offer", text)


def _queues(stays: Sequence[Row], offers: Sequence[Row]) -> list[Step]:
    """Each stay with the offers made while it lasted; offers of no known stay after."""
    out = []
    told: set[int] = set()
    for s in stays:
        text = f"entered queue {s['queue_id']} at position {s['position']}"
        out.append(Step(s["entered_at"], "queue", text))
        for i, o in enumerate(offers):
            if o["queue_id"] == s["queue_id"] and i not in told:
                told.add(i)
                out.append(_offer(o))
        if s["outcome"]:
            who = f" by agent {s['agent_id']}" if s["agent_id"] else ""
            text = f"left queue {s['queue_id']}: {s['outcome']}{who}"
            out.append(Step(s["left_at"], "queue", text))
    out += [_offer(o) for i, o in enumerate(offers) if i not in told]
    return out


def _attempts(record: Row, show: Callable[[str], str]) -> list[Step]:
    out = []
    if record.get("ring_time") is not None:
        out.append(Step(record["ring_time"], "ring", "forward targets ringing"))
    for a in record.get("attempts") or ():
        out.append(
            Step(
                None,
                "attempt",
                f"{show(a['target'])}: {a['result']}{_cause(a.get('cause'))}, "
                f"rang {float(a.get('ring_seconds') or 0):.1f} s",
            )
        )
    return out


def _end(record: Row, show: Callable[[str], str]) -> list[Step]:
    out = []
    if record.get("answer_time") is not None:
        out.append(Step(record["answer_time"], "answer", "the caller's channel was answered"))
    if record.get("connect_time") is not None and record.get("answered_target"):
        out.append(
            Step(
                record["connect_time"], "connect", f"connected to {show(record['answered_target'])}"
            )
        )
    by = record.get("hangup_by")
    text = _HANGUP_BY.get(by or "", "the engine ended the call" if by == "engine" else "ended")
    disposition = record["disposition"]
    if record.get("closed_state"):
        disposition += f" ({record['closed_state']})"
    out.append(
        Step(
            record["end_time"],
            "end",
            f"{text}{_cause(record.get('hangup_cause'))}; {disposition}, talk "
            f"{record.get('billsec', 0)} s of {record.get('duration', 0)} s",
        )
    )
    return out


def call_story(
    record: Row,
    stays: Sequence[Row] = (),
    offers: Sequence[Row] = (),
    *,
    show: Callable[[str], str] = format_number,
) -> list[Step]:
    """The steps of the call in ``record``: its start, the plan and its reasons, what was
    played, its queue stays and offers, the forward attempts, the answer and the end."""
    caller = record.get("caller") or ""
    who = show(caller) if caller else "anonymous"
    steps = [Step(record["start_time"], "start", f"{who} called {format_number(record['number'])}")]
    steps += _plan(record)
    steps += _prompts(record)
    steps += _queues(stays, offers)
    steps += _attempts(record, show)
    steps += _end(record, show)
    return steps
