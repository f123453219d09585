"""Minute allowances: the rules of the ledger, pure.

Seconds are the unit everywhere (minutes are what people type and read). A balance is the
sum of an account's ledger rows; nothing stores a running figure. An outbound call takes a
**reservation** at its start: its talk limit, the member's balance rounded down to the
tenant's charging unit (and capped at the longest call), so the call can never cost more
than the member has. At its end the reservation is **released** and what the call cost is
**used**: its talk seconds rounded up to the unit, never more than was reserved.

With a monthly reset, unused minutes lapse at 00:00 on the first of the month in the
tenant's zone: the first ledger operation of an account in a new month writes an ``expire``
row that brings the balance left from before to zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from ivr_engine.domain.members import Reset, Rounding


class EntryKind(StrEnum):
    """What a ledger row records."""

    CHARGE = "charge"  # an admin added minutes to the tenant's pool
    COUPON = "coupon"  # a coupon added minutes to the pool
    ALLOCATE = "allocate"  # minutes moved from the pool (negative) to a member (positive)
    RESERVE = "reserve"  # a call's talk limit set aside at its start
    RELEASE = "release"  # that reservation given back at the call's end
    USE = "use"  # what the call cost
    EXPIRE = "expire"  # minutes that lapsed at a monthly reset


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row. ``member`` None: the tenant's pool."""

    id: int
    tenant_id: str
    member: str | None
    kind: EntryKind
    seconds: int
    call_id: str | None
    reason: str
    created_at: datetime


def balance(entries: Iterable[LedgerEntry]) -> int:
    """An account's balance: the sum of its rows."""
    return sum(e.seconds for e in entries)


def round_up(talk_seconds: int, rounding: Rounding) -> int:
    """Talk seconds as charged: rounded up to the unit (a started minute is a minute)."""
    if talk_seconds <= 0:
        return 0
    unit = rounding.unit
    return math.ceil(talk_seconds / unit) * unit


def talk_limit(available: int, rounding: Rounding, longest: int) -> int:
    """The longest a call may talk with ``available`` seconds: rounded down to the unit,
    at most ``longest`` seconds; 0 when not even one unit is left."""
    unit = rounding.unit
    return max(0, min(available, longest)) // unit * unit


def charge_for(talk_seconds: int, reserved: int, rounding: Rounding) -> int:
    """What a call that talked ``talk_seconds`` on a reservation of ``reserved`` costs."""
    return min(round_up(talk_seconds, rounding), max(0, reserved))


def period_start(now: datetime, timezone: str, reset: Reset) -> datetime | None:
    """The start of the current allowance period (the first of the month, 00:00 in the
    tenant's zone) when allowances reset monthly; None when they carry over."""
    if reset is Reset.CARRY_OVER:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def expiry(balance_before_period: int, already_expired: bool) -> int:
    """The ``expire`` row a new period needs (negative seconds), or 0 when none does."""
    if already_expired or balance_before_period <= 0:
        return 0
    return -balance_before_period


def minutes_text(seconds: int) -> str:
    """Seconds as people read an allowance: ``12 min``, ``12 min 30 s``, ``-1 min``."""
    sign = "-" if seconds < 0 else ""
    whole, rest = divmod(abs(seconds), 60)
    return f"{sign}{whole} min" + (f" {rest} s" if rest else "")


# Past a reservation's talk limit, how long before an unsettled one is released: both legs
# ringing their longest (2 x 300 s), the "connecting" prompt and a safety margin.
STALE_MARGIN_SECONDS = 900


def reservation_stale(reserved_at: datetime, reserved: int, now: datetime) -> bool:
    """Whether a reservation still open at ``now`` belongs to a call that cannot be running
    any more (its process was killed before settling): past the talk limit and the margin."""
    return (now - reserved_at).total_seconds() > reserved + STALE_MARGIN_SECONDS
