"""The 24-hour forward target change rule (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr_engine.domain.model import ForwardTarget
from ivr_engine.domain.target_changes import TargetChangeKind, classify, decide_target_change
from ivr_engine.errors import ConflictError

A, B = ForwardTarget("01011112222", 20), ForwardTarget("023334444", 15)
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ((A, B), (A, B), TargetChangeKind.UNCHANGED),
        ((), (A,), TargetChangeKind.ASSIGN),
        ((A, B), (A, ForwardTarget(B.number, 40)), TargetChangeKind.RING_TIME),
        ((A, B), (B, A), TargetChangeKind.CHANGE),
        ((A,), (), TargetChangeKind.CHANGE),
    ],
)
def test_classify(old: tuple, new: tuple, kind: TargetChangeKind) -> None:
    assert classify(old, new) is kind


def test_change_within_24h_is_refused_with_the_allowed_time() -> None:
    last = NOW - timedelta(hours=23, minutes=59)
    with pytest.raises(ConflictError, match=r"allowed from 2026-11-20 12:01 \+0900"):
        decide_target_change((A,), (B,), last_change_at=last, now=NOW)


def test_forced_change_within_24h_is_marked() -> None:
    change = decide_target_change(
        (A,), (B,), last_change_at=NOW - timedelta(hours=1), now=NOW, force=True
    )
    assert change.forced and change.kind is TargetChangeKind.CHANGE


def test_change_after_24h_or_first_change_is_allowed_unforced() -> None:
    for last in (None, NOW - timedelta(hours=24)):
        change = decide_target_change((A,), (B,), last_change_at=last, now=NOW)
        assert not change.forced and change.recorded


def test_assign_and_ring_time_are_never_refused() -> None:
    recent = NOW - timedelta(minutes=1)
    assert decide_target_change((), (A,), last_change_at=recent, now=NOW).kind == "assign"
    ring = decide_target_change(
        (A,), (ForwardTarget(A.number, 30),), last_change_at=recent, now=NOW
    )
    assert ring.kind == "ring_time" and not ring.forced
