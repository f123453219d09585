"""What a forward-target attempt ended with, and what the caller is told when all fail.

Pure: the call session feeds it the Q.850 cause Asterisk reported for a target leg
(ChannelHangupRequest / ChannelDestroyed ``cause``) and gets back a classification and,
once every target has failed, the cause to hang the caller up with.

Per the protocol facts, a ``/create``d or originated leg's outcome is keyed on the
ChannelDestroyed cause, not on Dial events (a SIP 486 gives no BUSY Dial event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class TargetResult(StrEnum):
    """How one forward-target attempt ended."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the caller hung up, or another target answered first
    FAILED = "failed"


# Q.850 cause -> result of a target attempt that did not answer.
_CAUSE_RESULT: dict[int, TargetResult] = {
    17: TargetResult.BUSY,  # USER_BUSY (SIP 486/600)
    19: TargetResult.NO_ANSWER,  # NO_ANSWER (dial timeout, SIP 480)
    16: TargetResult.NO_ANSWER,  # NORMAL_CLEARING before answer: the far end gave up ringing
    18: TargetResult.UNREACHABLE,  # NO_USER_RESPONSE (SIP 408)
    20: TargetResult.UNREACHABLE,  # SUBSCRIBER_ABSENT
    1: TargetResult.UNREACHABLE,  # UNALLOCATED (SIP 404)
    3: TargetResult.UNREACHABLE,  # NO_ROUTE_DESTINATION
    27: TargetResult.UNREACHABLE,  # DESTINATION_OUT_OF_ORDER
    21: TargetResult.REJECTED,  # CALL_REJECTED (SIP 403/603)
    26: TargetResult.CANCELLED,  # ANSWERED_ELSEWHERE
}

# Result -> the cause the caller's channel is hung up with once every target failed.
_RESULT_CAUSE: dict[TargetResult, int] = {
    TargetResult.BUSY: 17,
    TargetResult.NO_ANSWER: 19,
    TargetResult.UNREACHABLE: 20,
    TargetResult.REJECTED: 21,
    TargetResult.FAILED: 34,
    TargetResult.CANCELLED: 16,
}

# ARI hangup reason names for the causes above (DELETE /channels/{id}?reason=...).
CAUSE_REASON: dict[int, str] = {
    1: "unallocated",
    16: "normal",
    17: "busy",
    18: "timeout",
    19: "no_answer",
    21: "rejected",
    26: "answered_elsewhere",
    31: "normal_unspecified",
    34: "congestion",
    38: "failure",
}


def classify_cause(cause: int | None) -> TargetResult:
    """The result of a target leg that ended before answering, from its Q.850 cause."""
    if cause is None:
        return TargetResult.FAILED
    return _CAUSE_RESULT.get(cause, TargetResult.FAILED)


@dataclass(frozen=True)
class Attempt:
    """One forward-target attempt as the session saw it."""

    target: str
    result: TargetResult
    cause: int | None = None
    ring_seconds: float = 0.0


def final_cause(attempts: Sequence[Attempt]) -> int:
    """The cause for the caller when no target answered.

    Busy wins when any target was busy (the caller learns someone is there); otherwise
    no answer when any target rang; otherwise the last attempt's kind of failure.
    """
    results = {a.result for a in attempts}
    for preferred in (TargetResult.BUSY, TargetResult.NO_ANSWER):
        if preferred in results:
            return _RESULT_CAUSE[preferred]
    if not attempts:
        return 34
    return _RESULT_CAUSE.get(attempts[-1].result, 34)
