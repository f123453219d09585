"""Minute allowance rules (pure): rounding tables and ledger properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr_engine.domain.members import Reset, Rounding
from ivr_engine.domain.minutes import (
    charge_for,
    expiry,
    minutes_text,
    period_start,
    round_up,
    talk_limit,
)

M, T, S = Rounding.PER_MINUTE, Rounding.PER_10_SECONDS, Rounding.PER_SECOND


@pytest.mark.parametrize(
    ("talk", "rounding", "charged"),
    [
        (0, M, 0),
        (1, M, 60),
        (60, M, 60),
        (61, M, 120),
        (1, T, 10),
        (59, T, 60),
        (61, T, 70),
        (61, S, 61),
        (0, S, 0),
    ],
)
def test_round_up(talk: int, rounding: Rounding, charged: int) -> None:
    assert round_up(talk, rounding) == charged


@pytest.mark.parametrize(
    ("available", "rounding", "longest", "limit"),
    [
        (125, M, 3600, 120),
        (59, M, 3600, 0),
        (59, T, 3600, 50),
        (7200, M, 3600, 3600),
        (125, S, 100, 100),
        (0, S, 100, 0),
        (-5, S, 100, 0),
    ],
)
def test_talk_limit(available: int, rounding: Rounding, longest: int, limit: int) -> None:
    assert talk_limit(available, rounding, longest) == limit


def test_period_start_is_the_first_of_the_month_in_the_tenant_zone() -> None:
    # 2026-10-31 16:00 UTC is already 2026-11-01 01:00 in Seoul
    now = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    start = period_start(now, "Asia/Seoul", Reset.MONTHLY)
    assert start is not None and start.isoformat() == "2026-11-01T00:00:00+09:00"
    assert period_start(now, "Asia/Seoul", Reset.CARRY_OVER) is None
    assert (expiry(300, False), expiry(300, True), expiry(0, False)) == (-300, 0, 0)
    assert (minutes_text(750), minutes_text(120), minutes_text(-60)) == (
        "12 min 30 s",
        "2 min",
        "-1 min",
    )


@given(
    st.sampled_from(list(Rounding)),
    st.integers(0, 10_000),
    st.lists(st.integers(0, 4000), max_size=30),
)
def test_calls_never_overdraw_and_cost_their_rounded_talk(
    rounding: Rounding, allowance: int, talks: list[int]
) -> None:
    """Calls one after another, each cut at its talk limit: the balance never goes below
    zero and what was used is the sum of the talk seconds rounded up by the rule."""
    left, used, expected = allowance, 0, 0
    for talk in talks:
        limit = talk_limit(left, rounding, 3600)
        if limit == 0:
            continue
        talked = min(talk, limit)  # the limit ends the call
        cost = charge_for(talked, limit, rounding)
        left -= cost
        used += cost
        expected += round_up(talked, rounding)
        assert left >= 0
    assert used == expected and left == allowance - used
