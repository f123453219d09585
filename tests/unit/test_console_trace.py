"""A stored call record told as what happened, with numbers shown as the viewer may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr_engine.console.fmt import local_time, percent
from ivr_engine.console.record_trace import record_steps
from ivr_engine.domain.numbers import mask

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_a_forwarded_call_reads_in_order_with_masked_numbers() -> None:
    record = {
        "number": "05051234567",
        "caller": "01020003000",
        "start_time": T0,
        "ring_time": T0 + timedelta(seconds=0.2),
        "answer_time": T0 + timedelta(seconds=6),
        "connect_time": T0 + timedelta(seconds=6.1),
        "end_time": T0 + timedelta(seconds=30),
        "reasons": ["open hours 11:00-15:00"],
        "plan_state": "open",
        "prompts": [{"kind": "coloring", "label": "coloring_open", "result": "interrupted"}],
        "attempts": [
            {"target": "01011112222", "result": "busy", "cause": 17, "ring_seconds": 1.5},
            {"target": "0233334444", "result": "answered", "cause": None, "ring_seconds": 4},
        ],
        "answered_target": "0233334444",
        "hangup_by": "caller",
        "hangup_cause": 16,
        "disposition": "ANSWERED",
    }
    steps = record_steps(record, mask)
    kinds = [s.kind for s in steps]
    assert kinds == [
        "start",
        "plan",
        "state",
        "coloring",
        "ring",
        "attempt",
        "attempt",
        "answer",
        "bridge",
        "end",
    ]
    text = "\n".join(s.text for s in steps)
    assert "01020003000" not in text and mask("01020003000") in text
    assert "busy after 1.5s, cause 17 (User busy)" in text
    assert steps[-1].offset == 30.0 and "hung up by caller, cause 16" in steps[-1].text


def test_local_time_shows_the_offset() -> None:
    from zoneinfo import ZoneInfo

    assert local_time(T0, ZoneInfo("Asia/Seoul")) == "2026-11-20 12:00 +09:00"
    assert local_time(None, ZoneInfo("Asia/Seoul")) == ""
    assert percent(1, 3) == "33%" and percent(0, 0) == "–"
