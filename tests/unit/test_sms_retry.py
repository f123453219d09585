"""The retry decision and backoff as tables."""

from __future__ import annotations

import random

import pytest

from ivr_engine.sms.providers import Outcome
from ivr_engine.sms.retry import next_state, retry_delay


@pytest.mark.parametrize(
    ("outcome", "attempt", "state"),
    [
        (Outcome.SENT, 1, ("sent", None)),
        (Outcome.FAIL, 1, ("failed", "refused")),
        (Outcome.RETRY, 1, ("queued", None)),
        (Outcome.RETRY, 7, ("queued", None)),
        (Outcome.RETRY, 8, ("failed", "gave_up")),
        (Outcome.SENT, 8, ("sent", None)),
    ],
)
def test_next_state(outcome: Outcome, attempt: int, state: tuple[str, str | None]) -> None:
    assert next_state(outcome, attempt, max_attempts=8) == state


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 2.5, 5.0),
        (2, 5.0, 10.0),
        (3, 10.0, 20.0),
        (10, 30.0, 60.0),
    ],
)
def test_backoff_doubles_with_jitter_up_to_the_cap(attempt: int, low: float, high: float) -> None:
    rng = random.Random(7)
    delays = [retry_delay(attempt, base=5, cap=60, rng=rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 100  # jittered, not in step


def test_retry_after_is_a_floor_within_the_cap() -> None:
    rng = random.Random(1)
    assert retry_delay(1, base=1, cap=60, rng=rng, hint=30) == 30
    assert retry_delay(1, base=1, cap=60, rng=rng, hint=600) == 60
