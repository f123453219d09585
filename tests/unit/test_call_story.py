"""``domain.call_story``: the steps of a call told from its record, as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ivr_engine.domain.call_story import call_story
from ivr_engine.domain.numbers import mask

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def _record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "caller": "01020003000",
        "number": "05051234567",
        "start_time": T0,
        "plan_state": "open",
        "reasons": ["open 11:00-15:00"],
        "prompts": [],
        "attempts": [],
        "ring_time": None,
        "answer_time": None,
        "connect_time": None,
        "answered_target": None,
        "end_time": T0 + timedelta(seconds=9),
        "hangup_by": "caller",
        "hangup_cause": 16,
        "disposition": "ABANDONED",
        "closed_state": None,
        "billsec": 0,
        "duration": 9,
    }
    base.update(over)
    return base


ANSWERED = _record(
    ring_time=T0 + timedelta(seconds=1),
    attempts=[
        {"target": "01011112222", "result": "busy", "cause": 17, "ring_seconds": 0.4},
        {"target": "023334444", "result": "answered", "cause": None, "ring_seconds": 5.1},
    ],
    answer_time=T0 + timedelta(seconds=6),
    connect_time=T0 + timedelta(seconds=6),
    answered_target="023334444",
    hangup_by="callee",
    disposition="ANSWERED",
    billsec=3,
)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            _record(caller="", plan_state=None, reasons=[]),
            [
                ("start", "anonymous called 0505-123-4567"),
                ("plan", "no plan was made"),
                (
                    "end",
                    "the caller hung up (cause 16: Normal Clearing); ABANDONED, talk 0 s of 9 s",
                ),
            ],
        ),
        (
            _record(
                plan_state="lunch",
                reasons=["lunch 12:00-13:00"],
                prompts=[{"kind": "play", "label": "lunch", "media": "sound:x", "result": "done"}],
                hangup_by="engine",
                disposition="CLOSED",
                closed_state="lunch",
            ),
            [
                ("start", "010-20**-30** called 0505-123-4567"),
                ("plan", "plan: lunch; lunch 12:00-13:00"),
                ("prompt", "played: lunch [done]"),
                (
                    "end",
                    "the engine ended the call (cause 16: Normal Clearing); CLOSED (lunch), "
                    "talk 0 s of 9 s",
                ),
            ],
        ),
        (
            ANSWERED,
            [
                ("start", "010-20**-30** called 0505-123-4567"),
                ("plan", "plan: open; open 11:00-15:00"),
                ("ring", "forward targets ringing"),
                ("attempt", "010-11**-22**: busy (cause 17: User busy), rang 0.4 s"),
                ("attempt", "02-33*-44**: answered, rang 5.1 s"),
                ("answer", "the caller's channel was answered"),
                ("connect", "connected to 02-33*-44**"),
                (
                    "end",
                    "the callee hung up (cause 16: Normal Clearing); ANSWERED, talk 3 s of 9 s",
                ),
            ],
        ),
    ],
)
def test_steps(record: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert [(s.kind, s.text) for s in call_story(record, show=mask)] == expected


def test_queue_stays_carry_their_offers_and_stray_offers_follow() -> None:
    stay = {
        "queue_id": "support",
        "position": 2,
        "entered_at": T0,
        "left_at": T0,
        "outcome": "answered",
        "agent_id": "kim",
    }
    offers = [
        {
            "queue_id": "support",
            "agent_id": "lee",
            "offered_at": T0,
            "result": "missed",
            "ring_seconds": 15,
        },
        {
            "queue_id": "sales",
            "agent_id": "kim",
            "offered_at": T0,
            "result": None,
            "ring_seconds": None,
        },
    ]
    steps = [s.text for s in call_story(_record(), [stay], offers) if s.kind in ("queue", "offer")]
    assert steps == [
        "entered queue support at position 2",
        "offered to agent lee: missed, rang 15.0 s",
        "left queue support: answered by agent kim",
        "offered to agent kim: ringing",
    ]
