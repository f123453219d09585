"""Agent selection per strategy, auto-pause, wrap-up, expected wait and queue statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr_engine.domain.acd import (
    AgentState,
    CallOutcome,
    Candidate,
    QueueCallFact,
    after_call,
    after_missed,
    expected_wait,
    may_claim,
    queue_stats,
    rank,
    state_durations,
)
from ivr_engine.domain.queue_doc import AfterCall, QueueStrategy, ServiceLevelMode

S = QueueStrategy
A = Candidate("a", idle_since=300.0, calls_taken=5, offered=5)
B = Candidate("b", idle_since=100.0, calls_taken=9, offered=1)
C = Candidate("c", idle_since=None, calls_taken=7, offered=0)
D = Candidate("d", priority=1, idle_since=None, calls_taken=0)


@pytest.mark.parametrize(
    ("strategy", "kw", "expected"),
    [
        (S.LONGEST_IDLE, {}, ["c", "b", "a", "d"]),
        (S.FEWEST_CALLS, {}, ["a", "c", "b", "d"]),
        (S.ROUND_ROBIN, {"last_agent": "a"}, ["b", "c", "a", "d"]),
        (S.ROUND_ROBIN, {"last_agent": "c"}, ["a", "b", "c", "d"]),
        (S.ROUND_ROBIN, {}, ["a", "b", "c", "d"]),
        (S.STICKY, {"sticky_agent": "a"}, ["a", "c", "b", "d"]),
        (S.STICKY, {"sticky_agent": "zz"}, ["c", "b", "a", "d"]),
        (S.RING_ALL, {}, ["c", "b", "a"]),
    ],
)
def test_rank_per_strategy(strategy: QueueStrategy, kw: dict, expected: list[str]) -> None:
    assert rank(strategy, [A, B, C, D], **kw) == expected


def test_priority_beats_strategy() -> None:
    best = Candidate("z", priority=0, idle_since=1e9)
    worse = Candidate("y", priority=2, idle_since=None)
    for strategy in QueueStrategy:
        assert rank(strategy, [worse, best])[0] == "z", strategy


def test_rank_limits_and_empty() -> None:
    assert rank(S.LONGEST_IDLE, [A, B, C], k=1) == ["c"]
    assert rank(S.WEIGHTED, []) == []


def test_weighted_shares_follow_the_weights() -> None:
    weights = {"a": 3, "b": 1, "c": 1}
    offered = dict.fromkeys(weights, 0)
    for _ in range(500):
        cands = [Candidate(n, weight=w, offered=offered[n]) for n, w in weights.items()]
        offered[rank(S.WEIGHTED, cands, k=1)[0]] += 1
    assert offered == {"a": 300, "b": 100, "c": 100}


def test_round_robin_cycles_with_memory() -> None:
    cands = [Candidate(n) for n in "abc"]
    last, seen = None, []
    for _ in range(5):
        last = rank(S.ROUND_ROBIN, cands, last_agent=last, k=1)[0]
        seen.append(last)
    assert seen == ["a", "b", "c", "a", "b"]


def test_may_claim_serves_callers_in_order() -> None:
    assert may_claim(1, 1) and may_claim(2, 2)
    assert not may_claim(2, 1) and not may_claim(1, 0)


def test_auto_pause_after_n_missed_in_a_row() -> None:
    assert after_missed(0, 3).pause is False
    assert after_missed(2, 3) == after_missed(2, 3) and after_missed(2, 3).pause
    assert after_missed(2, 3).missed_in_row == 3
    assert not after_missed(50, 0).pause  # 0: never


def test_after_call_wrapup_or_straight() -> None:
    plan = after_call(30, AfterCall.REST)
    assert (plan.state, plan.wrapup_seconds, plan.then) == (AgentState.WRAPUP, 30, AgentState.REST)
    assert after_call(0, AfterCall.READY).state is AgentState.READY


def test_expected_wait() -> None:
    assert expected_wait(3, 120, 2) == 180
    assert expected_wait(1, 0, 2) == 0
    assert expected_wait(2, 60, 0) == 120


FACTS = [
    QueueCallFact(CallOutcome.ANSWERED, 5, 60),
    QueueCallFact(CallOutcome.ANSWERED, 30, 120),
    QueueCallFact(CallOutcome.ANSWERED, 15, 30),
    QueueCallFact(CallOutcome.ABANDONED, 3),
    QueueCallFact(CallOutcome.ABANDONED, 10),
    QueueCallFact(CallOutcome.ABANDONED, 50),
    QueueCallFact(CallOutcome.OVERFLOW, 300),
    QueueCallFact(CallOutcome.CALLBACK, 40),
]


def test_queue_stats_service_level_definitions() -> None:
    plain = queue_stats(FACTS, threshold=20, mode=ServiceLevelMode.ANSWERED, short_abandon=5)
    assert (
        plain.offered,
        plain.answered,
        plain.abandoned,
        plain.short_abandoned,
        plain.overflowed,
        plain.callbacks,
    ) == (7, 3, 2, 1, 1, 1)
    assert plain.service_level == pytest.approx(2 / 3)
    assert plain.answer_rate == pytest.approx(3 / 7)
    assert plain.avg_talk == pytest.approx(70)
    assert plain.max_wait == 300
    assert plain.avg_wait == pytest.approx((5 + 30 + 15 + 10 + 50 + 300 + 40) / 7)
    both = queue_stats(
        FACTS, threshold=20, mode=ServiceLevelMode.ANSWERED_AND_ABANDONED, short_abandon=5
    )
    assert both.service_level == pytest.approx((2 + 1) / (3 + 2))


def test_queue_stats_empty() -> None:
    s = queue_stats([], threshold=20, mode=ServiceLevelMode.ANSWERED, short_abandon=5)
    assert s.offered == 0 and s.service_level is None and s.answer_rate is None


def test_state_durations_clip_to_the_period() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    spans = [
        ("ready", t0 - timedelta(hours=1), t0 + timedelta(minutes=10)),
        ("on_call", t0 + timedelta(minutes=10), t0 + timedelta(minutes=15)),
        ("ready", t0 + timedelta(minutes=15), None),
    ]
    got = state_durations(spans, t0, t0 + timedelta(minutes=30))
    assert got == {"ready": 25 * 60.0, "on_call": 5 * 60.0}
