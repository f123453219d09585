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

from ivr_engine.domain.causes import Cause


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
    Cause.USER_BUSY: TargetResult.BUSY,  # SIP 486/600
    Cause.NO_ANSWER: TargetResult.NO_ANSWER,  # dial timeout, SIP 480
    # NORMAL_CLEARING before answer: the far end gave up ringing
    Cause.NORMAL_CLEARING: TargetResult.NO_ANSWER,
    Cause.NO_USER_RESPONSE: TargetResult.UNREACHABLE,  # SIP 408
    Cause.SUBSCRIBER_ABSENT: TargetResult.UNREACHABLE,
    Cause.UNALLOCATED: TargetResult.UNREACHABLE,  # SIP 404
    Cause.NO_ROUTE_DESTINATION: TargetResult.UNREACHABLE,
    Cause.DESTINATION_OUT_OF_ORDER: TargetResult.UNREACHABLE,
    Cause.CALL_REJECTED: TargetResult.REJECTED,  # SIP 403/603
    Cause.ANSWERED_ELSEWHERE: TargetResult.CANCELLED,
}

# Result -> the cause the caller's channel is hung up with once every target failed.
_RESULT_CAUSE: dict[TargetResult, int] = {
    TargetResult.BUSY: Cause.USER_BUSY,
    TargetResult.NO_ANSWER: Cause.NO_ANSWER,
    TargetResult.UNREACHABLE: Cause.SUBSCRIBER_ABSENT,
    TargetResult.REJECTED: Cause.CALL_REJECTED,
    TargetResult.FAILED: Cause.CONGESTION,
    TargetResult.CANCELLED: Cause.NORMAL_CLEARING,
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
        return Cause.CONGESTION
    return _RESULT_CAUSE.get(attempts[-1].result, Cause.CONGESTION)
