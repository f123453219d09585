"""What a target leg and a bridge carry for the engine that adopts a conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr_engine.calls.handover import (
    HANDOVER_VAR,
    TARGET_VAR,
    bridge_name,
    complete_from_leg,
    connected_at,
    decode,
    leg_variables,
)
from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.records import Disposition, build_record
from ivr_engine.domain.trace import CallTrace

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
CALLER_ID = "1795310575.1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ringing_trace() -> CallTrace:
    trace = CallTrace(CALLER_ID, "05051234567", "01020003000", T0, linkedid=CALLER_ID)
    trace.caller, trace.tenant_id = "01020003000", "t"
    trace.state, trace.outcome = "open", "forward"
    trace.config_version, trace.reasons = 7, ("open 11:00-15:00",)
    trace.channel_name = "PJSIP/carrier-0000000a"
    trace.add(T0, "start", "call")
    trace.add(at(0.1), "coloring", "coloring", media="sound:ivr/tts-1")
    return trace


def test_bridge_name_carries_the_connect_time_to_the_millisecond() -> None:
    connected = at(12.3456)
    name = bridge_name(CALLER_ID, connected)
    assert name == f"ivr-{CALLER_ID}@{round(connected.timestamp() * 1000)}"
    assert connected_at(name, CALLER_ID) == at(12.346)
    assert connected_at(name, "1795310575.2") is None  # another call's bridge
    assert connected_at(f"queue-{CALLER_ID}", CALLER_ID) is None
    assert connected_at(f"ivr-{CALLER_ID}", CALLER_ID) is None  # an older engine's name


def test_a_leg_made_after_a_busy_target_gives_the_whole_record() -> None:
    trace = ringing_trace()
    trace.ring_started = at(0.2)
    trace.add(at(0.2), "ring", "ringing", target="01011112222", leg=f"{CALLER_ID}-t1")
    trace.attempts.append(Attempt("01011112222", TargetResult.BUSY, 17, 0.4))
    trace.add(at(0.6), "attempt", "busy", target="01011112222")
    variables = leg_variables(trace, "023334444", f"{CALLER_ID}-t2", at(0.7))
    assert variables[TARGET_VAR] == "023334444"

    decoded = decode(variables[HANDOVER_VAR])
    assert decoded is not None
    adopted, leg = decoded
    complete_from_leg(adopted, leg, at(5.0))
    adopted.hangup_by, adopted.hangup_cause, adopted.ended_at = "callee", 16, at(20.5)
    record = build_record(adopted)
    assert record.disposition is Disposition.ANSWERED and record.answered_target == "023334444"
    assert (record.answer_time, record.connect_time, record.ring_time) == (at(5), at(5), at(0.2))
    assert (record.billsec, record.duration, record.ring_seconds) == (15, 20, 4.8)
    assert [(a.target, a.result, a.ring_seconds) for a in record.attempts] == [
        ("01011112222", TargetResult.BUSY, 0.4),
        ("023334444", TargetResult.ANSWERED, 4.3),
    ]
    assert (record.plan_state, record.config_version, record.reasons) == (
        "open",
        7,
        ("open 11:00-15:00",),
    )
    assert record.channel == "PJSIP/carrier-0000000a"
    assert [p["kind"] for p in record.prompts] == ["coloring"]


def test_legs_rung_together_before_the_winner_were_cancelled() -> None:
    trace = ringing_trace()
    trace.ring_started = at(0.2)
    trace.add(at(0.2), "ring", "ringing", target="01011112222", leg=f"{CALLER_ID}-t1")
    trace.add(at(0.21), "ring", "ringing", target="023334444", leg=f"{CALLER_ID}-t2")
    decoded = decode(leg_variables(trace, "0315556666", f"{CALLER_ID}-t3", at(0.22))[HANDOVER_VAR])
    assert decoded is not None
    adopted, leg = decoded
    complete_from_leg(adopted, leg, at(3.2))
    assert [(a.target, a.result) for a in adopted.attempts] == [
        ("01011112222", TargetResult.CANCELLED),
        ("023334444", TargetResult.CANCELLED),
        ("0315556666", TargetResult.ANSWERED),
    ]
    assert adopted.ring_started == at(0.2) and adopted.answered_at == at(3.2)


def test_the_first_leg_starts_the_ringing() -> None:
    decoded = decode(leg_variables(ringing_trace(), "01011112222", "x-t1", at(0.3))[HANDOVER_VAR])
    assert decoded is not None
    adopted, leg = decoded
    complete_from_leg(adopted, leg, at(2.0))
    assert adopted.ring_started == at(0.3)
    assert build_record(adopted).ring_seconds == 1.7


def test_unreadable_handovers_are_ignored() -> None:
    assert decode(None) is None and decode("") is None
    assert decode("{not json") is None
    assert decode('{"channel_id": "x"}') is None  # no start time, number ...


def test_a_caller_answered_by_a_menu_keeps_its_answer_time() -> None:
    trace = ringing_trace()
    trace.answered_at = at(0.05)  # the menu answered
    decoded = decode(leg_variables(trace, "01011112222", "x-t1", at(6.0))[HANDOVER_VAR])
    assert decoded is not None
    adopted, leg = decoded
    complete_from_leg(adopted, leg, at(9.0))
    adopted.ended_at = at(19.5)
    record = build_record(adopted)
    assert (record.answer_time, record.connect_time, record.billsec) == (at(0.05), at(9), 10)
