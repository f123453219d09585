"""The retry decision for one failed send attempt: pure, so it is tested as a table."""

from __future__ import annotations

import random

from ivr_engine.sms.providers import Outcome


def retry_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random, hint: float | None = None
) -> float:
    """Seconds before attempt ``attempt + 1``: exponential (base, 2x base, 4x base, ...)
    up to ``cap``, with jitter over its upper half so workers do not retry in step; a
    gateway's Retry-After ``hint`` is a floor (itself capped)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    if hint is not None:
        delay = max(delay, min(hint, cap))
    return delay


def next_state(outcome: Outcome, attempt: int, max_attempts: int) -> tuple[str, str | None]:
    """The outbox state (and reason) after an attempt: sent, queued again, or failed."""
    if outcome is Outcome.SENT:
        return "sent", None
    if outcome is Outcome.FAIL:
        return "failed", "refused"
    if attempt >= max_attempts:
        return "failed", "gave_up"
    return "queued", None
