"""build_record: a call's trace -> its call record (disposition, times, Asterisk values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.records import (
    CallRecord,
    ClosedState,
    Disposition,
    asterisk_disposition,
    build_record,
    whole_seconds,
)
from ivr_engine.domain.trace import CallTrace

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NUMBER, CALLER, FIRST, SECOND = "05051234567", "01020003000", "01011112222", "023334444"
A, B, N, U, C = (
    TargetResult.ANSWERED,
    TargetResult.BUSY,
    TargetResult.NO_ANSWER,
    TargetResult.UNREACHABLE,
    TargetResult.CANCELLED,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def trace(
    state: str | None = "open",
    outcome: str | None = "forward",
    *,
    attempts: tuple[tuple[str, TargetResult, int | None, float, float], ...] = (),
    ring: float | None = None,
    answer: float | None = None,
    bridge: float | None = None,
    target: str | None = None,
    end: float | None = 30.0,
    by: str | None = "engine",
    cause: int | None = 16,
) -> CallTrace:
    """A trace as the session leaves it. Attempts: (target, result, cause, ring s, ended at)."""
    t = CallTrace(
        "1763607600.42",
        NUMBER,
        "+82 10-2000-3000",
        T0,
        linkedid="1763607600.42",
        caller=CALLER,
        tenant_id="gangnam-pizza",
        node="node-a",
    )
    t.add(T0, "start", "call")
    if state is not None:
        t.state, t.outcome, t.config_version = state, outcome, 7
        t.reasons = ("open 11:00-15:00",)
        t.add(at(0.1), "plan", "plan")
    if ring is not None:
        t.ring_started = at(ring)
        t.add(at(ring), "coloring", "coloring", media="sound:ivr/tts-1")
    for who, result, c, secs, ended in attempts:
        t.attempts.append(Attempt(who, result, c, secs))
        t.add(at(ended), "attempt", "attempt", target=who, result=result.value)
    if answer is not None:
        t.answered_at = at(answer)
        t.answered_target = target
    if bridge is not None:
        t.add(at(bridge), "bridge", "bridged")
    t.hangup_by, t.hangup_cause = by, cause
    if end is not None:
        t.ended_at = at(end)
        t.add(at(end), "end", "call ended")
    return t


CASES = [
    # id, trace, disposition, closed state, asterisk disposition, billsec, ring s, duration
    (
        "answered",
        trace(
            ring=1.0,
            attempts=((FIRST, A, None, 4.2, 5.2),),
            answer=5.5,
            bridge=5.6,
            target=FIRST,
            end=65.59,
            by="callee",
        ),
        Disposition.ANSWERED,
        None,
        "ANSWERED",
        59,
        4.6,
        65,
    ),
    (
        "busy then answer",
        trace(
            ring=0.5,
            attempts=((FIRST, B, 17, 0.3, 0.8), (SECOND, A, None, 2.0, 2.9)),
            answer=3.0,
            bridge=3.0,
            target=SECOND,
            end=13.0,
            by="caller",
        ),
        Disposition.ANSWERED,
        None,
        "ANSWERED",
        10,
        2.5,
        13,
    ),
    (
        "all busy",
        trace(
            ring=0.5,
            attempts=((FIRST, B, 17, 0.3, 0.8), (SECOND, B, 17, 0.3, 1.2)),
            end=4.0,
            cause=17,
        ),
        Disposition.BUSY,
        None,
        "BUSY",
        0,
        0.7,
        4,
    ),
    (
        "busy wins over unreachable",
        trace(
            ring=0.5,
            attempts=((FIRST, U, 20, 0.5, 1.0), (SECOND, B, 17, 0.3, 1.5)),
            end=5.0,
            cause=17,
        ),
        Disposition.BUSY,
        None,
        "BUSY",
        0,
        1.0,
        5,
    ),
    (
        "no answer",
        trace(
            ring=0.5,
            attempts=((FIRST, N, 19, 20.0, 20.5), (SECOND, N, 19, 15.0, 35.5)),
            end=38.0,
            cause=19,
        ),
        Disposition.NO_ANSWER,
        None,
        "NO ANSWER",
        0,
        35.0,
        38,
    ),
    (
        "unreachable",
        trace(ring=0.5, attempts=((FIRST, U, 20, 0.5, 1.0),), end=3.0, cause=20),
        Disposition.FAILED,
        None,
        "FAILED",
        0,
        0.5,
        3,
    ),
    (
        "congestion",
        trace(ring=0.5, attempts=((FIRST, TargetResult.FAILED, 34, 0.5, 1.0),), end=3.0, cause=34),
        Disposition.FAILED,
        None,
        "CONGESTION",
        0,
        0.5,
        3,
    ),
    (
        "caller gives up while ringing",
        trace(ring=1.0, attempts=((FIRST, C, None, 7.0, 8.0),), end=8.0, by="caller", cause=None),
        Disposition.ABANDONED,
        None,
        "NO ANSWER",
        0,
        7.0,
        8,
    ),
    (
        "caller gives up in the greeting",
        trace(end=2.5, by="caller", cause=127),
        Disposition.ABANDONED,
        None,
        "NO ANSWER",
        0,
        0.0,
        2,
    ),
    (
        "caller gone before the plan",
        trace(None, None, end=0.4, by="caller", cause=None),
        Disposition.ABANDONED,
        None,
        "NO ANSWER",
        0,
        0.0,
        0,
    ),
    (
        "handed back to the dialplan",
        trace(None, None, end=2.0, by=None, cause=None),
        Disposition.FAILED,
        None,
        "FAILED",
        0,
        0.0,
        2,
    ),
    (
        "no target configured",
        trace("open", "announce", end=4.0, cause=3),
        Disposition.FAILED,
        None,
        "FAILED",
        0,
        0.0,
        4,
    ),
    (
        "after hours",
        trace("closed", "announce", end=6.0),
        Disposition.CLOSED,
        ClosedState.AFTER_HOURS,
        "NO ANSWER",
        0,
        0.0,
        6,
    ),
    (
        "lunch, answered for the announcement",
        trace("lunch", "announce", answer=0.2, end=6.9),
        Disposition.CLOSED,
        ClosedState.LUNCH,
        "ANSWERED",
        0,
        0.0,
        6,
    ),
    (
        "holiday",
        trace("holiday", "announce", end=5.0),
        Disposition.CLOSED,
        ClosedState.HOLIDAY,
        "NO ANSWER",
        0,
        0.0,
        5,
    ),
    (
        "block period, caller leaves early",
        trace("block_period", "announce", end=1.0, by="caller", cause=None),
        Disposition.CLOSED,
        ClosedState.BLOCK_PERIOD,
        "NO ANSWER",
        0,
        0.0,
        1,
    ),
    (
        "blocked caller",
        trace("blocked_caller", "announce", end=3.0, cause=21),
        Disposition.BLOCKED,
        None,
        "FAILED",
        0,
        0.0,
        3,
    ),
    (
        "paused number",
        trace("paused", "announce", end=3.0, cause=20),
        Disposition.PAUSED,
        None,
        "FAILED",
        0,
        0.0,
        3,
    ),
    (
        "unallocated number",
        trace("unallocated", "announce", end=3.0, cause=1),
        Disposition.UNALLOCATED,
        None,
        "FAILED",
        0,
        0.0,
        3,
    ),
    (
        "free pass after hours, answered",
        trace(
            "closed",
            "forward",
            ring=0.1,
            attempts=((FIRST, A, None, 1.0, 1.1),),
            answer=1.2,
            bridge=1.3,
            target=FIRST,
            end=11.2,
        ),
        Disposition.ANSWERED,
        None,
        "ANSWERED",
        9,
        1.2,
        11,
    ),
]


@pytest.mark.parametrize(
    ("t", "disposition", "closed", "ast", "billsec", "ring", "duration"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_build_record(
    t: CallTrace,
    disposition: Disposition,
    closed: ClosedState | None,
    ast: str,
    billsec: int,
    ring: float,
    duration: int,
) -> None:
    r = build_record(t)
    assert (r.disposition, r.closed_state, r.asterisk_disposition) == (disposition, closed, ast)
    assert (r.billsec, r.ring_seconds, r.duration) == (billsec, ring, duration)


def test_record_carries_the_call() -> None:
    t = trace(
        ring=1.0,
        attempts=((FIRST, B, 17, 0.3, 1.3), (SECOND, A, None, 2.0, 3.3)),
        answer=3.5,
        bridge=3.6,
        target=SECOND,
        end=20.0,
        by="callee",
        cause=16,
    )
    t.add(at(3.4), "whisper", "whisper", media="sound:ivr/tts-2", result="done")
    r = build_record(t)
    assert (r.call_id, r.uniqueid, r.linkedid) == ("1763607600.42",) * 3
    assert (r.tenant_id, r.number, r.caller, r.caller_raw) == (
        "gangnam-pizza",
        NUMBER,
        CALLER,
        "+82 10-2000-3000",
    )
    assert (r.start_time, r.ring_time, r.answer_time, r.connect_time, r.end_time) == (
        T0,
        at(1.0),
        at(3.5),
        at(3.6),
        at(20.0),
    )
    assert [(a.target, a.result, a.cause) for a in r.attempts] == [
        (FIRST, B, 17),
        (SECOND, A, None),
    ]
    assert r.answered_target == SECOND
    assert [p["kind"] for p in r.prompts] == ["coloring", "whisper"]
    assert (r.hangup_by, r.hangup_cause, r.plan_state) == ("callee", 16, "open")
    assert (r.reasons, r.config_version, r.node) == (("open 11:00-15:00",), 7, "node-a")


def test_talk_starts_at_the_bridge_not_at_an_earlier_answer() -> None:
    # Answered first for a greeting at 0.2 s, connected to the target at 10.0 s.
    t = trace(
        ring=2.0,
        attempts=((FIRST, A, None, 7.5, 9.5),),
        answer=0.2,
        bridge=10.0,
        target=FIRST,
        end=40.9,
    )
    r = build_record(t)
    assert (r.answer_time, r.connect_time) == (at(0.2), at(10.0))
    assert (r.billsec, r.ring_seconds, r.duration) == (30, 8.0, 40)


def test_answer_without_a_bridge_entry_uses_the_answer_time() -> None:
    t = trace(ring=1.0, attempts=((FIRST, A, None, 2.0, 3.0),), answer=3.0, target=FIRST, end=9.999)
    assert build_record(t).billsec == 6


def test_missing_end_time_takes_the_last_entry() -> None:
    t = trace(ring=1.0, attempts=((FIRST, N, 19, 20.0, 21.0),), end=None, cause=19)
    r = build_record(t)
    assert r.end_time == at(21.0)
    assert (r.duration, r.billsec, r.ring_seconds) == (21, 0, 20.0)


def test_missing_everything_but_the_start() -> None:
    t = CallTrace("c-1", NUMBER, "", T0)
    r = build_record(t)
    assert (r.end_time, r.duration, r.billsec, r.ring_seconds) == (T0, 0, 0, 0.0)
    assert (r.disposition, r.asterisk_disposition) == (Disposition.FAILED, "FAILED")
    assert (r.linkedid, r.tenant_id, r.caller) == ("c-1", None, "")


def test_whisper_answered_but_caller_left_before_connect_is_abandoned() -> None:
    t = trace(ring=1.0, attempts=((FIRST, A, None, 3.0, 4.0),), end=4.2, by="caller", cause=None)
    r = build_record(t)
    assert (r.disposition, r.answered_target, r.billsec) == (Disposition.ABANDONED, None, 0)


@pytest.mark.parametrize("attempt", [(FIRST, N, 16, 3.0, 4.0), (FIRST, A, None, 3.0, 4.0)])
def test_callee_left_before_the_caller_was_connected_is_no_answer(
    attempt: tuple[str, TargetResult, int | None, float, float],
) -> None:
    # During the whisper (the attempt reads no answer), or just after it: the caller is
    # released unanswered and the callee did not take the call, whatever the attempt says.
    t = trace(ring=1.0, attempts=(attempt,), end=4.1, by="callee", cause=16)
    r = build_record(t)
    assert (r.disposition, r.asterisk_disposition) == (Disposition.NO_ANSWER, "NO ANSWER")
    assert (r.answered_target, r.billsec, r.hangup_by) == (None, 0, "callee")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0.0, 0.999, 0), (0.0, 1.0, 1), (0.5, 2.49, 1), (3.0, 2.0, 0), (None, 5.0, 0)],
)
def test_whole_seconds_floors(start: float | None, end: float, expected: int) -> None:
    assert whole_seconds(None if start is None else at(start), at(end)) == expected


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (17, "BUSY"),
        (34, "CONGESTION"),
        (16, "NO ANSWER"),
        (19, "NO ANSWER"),
        (3, "FAILED"),
        (20, "FAILED"),
        (21, "FAILED"),
        (None, "FAILED"),
    ],
)
def test_asterisk_disposition_by_cause(cause: int | None, expected: str) -> None:
    assert asterisk_disposition(False, cause) == expected
    assert asterisk_disposition(True, cause) == "ANSWERED"
    assert asterisk_disposition(False, cause, caller_left=True) == "NO ANSWER"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_json_round_trip(case: tuple) -> None:
    record = build_record(case[1])
    assert CallRecord.from_json(record.to_json()) == record
