"""The forward-target change rule (pure).

A number's forward targets may change at most once per 24 hours: a change within 24 hours
of the previous change is refused unless forced, and a forced change is recorded as such.

* Giving targets to a number that has none (its first assignment) is not a change: it is
  never refused and does not start the 24-hour window.
* Changing only ring times (same phones, same order) is recorded but never refused and does
  not start the window either: the rule is about where calls go.
* Identical targets are no change at all (re-importing the same file changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from ivr_engine.domain.model import ForwardTarget
from ivr_engine.errors import TargetChangeLocked

CHANGE_WINDOW = timedelta(hours=24)
SEOUL = ZoneInfo("Asia/Seoul")


class TargetChangeKind(StrEnum):
    """What kind of modification of a number's forward targets a new list is."""

    UNCHANGED = "unchanged"
    ASSIGN = "assign"  # the number had no targets
    RING_TIME = "ring_time"  # same phones in the same order, other ring times
    CHANGE = "change"  # other phones or another order: subject to the 24-hour rule


@dataclass(frozen=True)
class TargetChange:
    """The decision for one number: what kind of modification it is and whether it was forced."""

    kind: TargetChangeKind
    old: tuple[ForwardTarget, ...]
    new: tuple[ForwardTarget, ...]
    forced: bool = False

    @property
    def recorded(self) -> bool:
        """True when the modification goes into the change history."""
        return self.kind is not TargetChangeKind.UNCHANGED


def classify(old: tuple[ForwardTarget, ...], new: tuple[ForwardTarget, ...]) -> TargetChangeKind:
    """The kind of modification from ``old`` to ``new`` targets."""
    if old == new:
        return TargetChangeKind.UNCHANGED
    if not old:
        return TargetChangeKind.ASSIGN
    if [t.number for t in old] == [t.number for t in new]:
        return TargetChangeKind.RING_TIME
    return TargetChangeKind.CHANGE


def decide_target_change(
    old: tuple[ForwardTarget, ...],
    new: tuple[ForwardTarget, ...],
    *,
    last_change_at: datetime | None,
    now: datetime,
    force: bool = False,
    number: str = "",
    tz: tzinfo = SEOUL,
) -> TargetChange:
    """Decide whether ``old`` may become ``new`` at ``now``.

    ``last_change_at`` is when the number's targets last had a CHANGE (None: never).
    Raises TargetChangeLocked (a ConflictError) naming the number and the earliest allowed
    time when a change comes within 24 hours of the previous one and ``force`` is false.
    """
    kind = classify(old, new)
    if kind is not TargetChangeKind.CHANGE or last_change_at is None:
        return TargetChange(kind, old, new)
    allowed_from = last_change_at + CHANGE_WINDOW
    if now >= allowed_from:
        return TargetChange(kind, old, new)
    if not force:
        who = f"number {number}: " if number else ""
        raise TargetChangeLocked(
            f"{who}forward targets were changed at {_show(last_change_at, tz)}; another "
            f"change is allowed from {_show(allowed_from, tz)} (24 hours), or force it "
            "with --force-targets"
        )
    return TargetChange(kind, old, new, forced=True)


def _show(when: datetime, tz: tzinfo) -> str:
    """A timestamp in the given zone, to the minute, with its offset."""
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M %z")
