"""Q.850 hangup causes: the codes, their text as Asterisk spells it, and the ARI hangup
reasons that stand for them.

The one home of cause codes for the whole engine. Pure (the planner and the records use
it); ``asterisk.constants`` re-exports it for the protocol clients and the simulator, so
both sides of the wire use the same numbers (asterisk-protocol.md, section E).
"""

from __future__ import annotations

from typing import Final


class Cause:
    """Q.850 hangup cause codes used by the engine and the simulator."""

    UNALLOCATED: Final = 1  # number unknown or terminated
    NO_ROUTE_DESTINATION: Final = 3  # open, but nowhere to forward to
    NORMAL_CLEARING: Final = 16  # a normal end: after an announcement, a callee hung up
    USER_BUSY: Final = 17
    NO_USER_RESPONSE: Final = 18
    NO_ANSWER: Final = 19
    SUBSCRIBER_ABSENT: Final = 20  # number paused
    CALL_REJECTED: Final = 21  # caller on the block list, anonymous and blocked
    ANSWERED_ELSEWHERE: Final = 26  # another simultaneous target answered first
    DESTINATION_OUT_OF_ORDER: Final = 27
    INVALID_NUMBER_FORMAT: Final = 28
    NORMAL_UNSPECIFIED: Final = 31
    CONGESTION: Final = 34  # no queue to serve the call
    FAILURE: Final = 38  # network out of order: the engine failed on an answered call
    BEARERCAPABILITY_NOTAVAIL: Final = 58
    INTERWORKING: Final = 127


# cause -> cause_txt exactly as ChannelDestroyed spells it (main/causes.c).
CAUSE_TXT: Final[dict[int, str]] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    30: "Response to STATus ENQuiry",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    58: "Bearer capability not available",
    127: "Interworking, unspecified",
}


def cause_txt(cause: int) -> str:
    """The ``cause_txt`` Asterisk sends for a cause code ("Unknown" for unlisted codes)."""
    return CAUSE_TXT.get(cause, "Unknown")


# DELETE /channels/{id}?reason=... -> the cause the channel is hung up with (A.1).
HANGUP_REASON_CAUSE: Final[dict[str, int]] = {
    "normal": Cause.NORMAL_CLEARING,
    "busy": Cause.USER_BUSY,
    "congestion": Cause.CONGESTION,
    "no_answer": Cause.NO_ANSWER,
    "timeout": Cause.NO_USER_RESPONSE,
    "rejected": Cause.CALL_REJECTED,
    "unallocated": Cause.UNALLOCATED,
    "normal_unspecified": Cause.NORMAL_UNSPECIFIED,
    "number_incomplete": Cause.INVALID_NUMBER_FORMAT,
    "codec_mismatch": Cause.BEARERCAPABILITY_NOTAVAIL,
    "interworking": Cause.INTERWORKING,
    "failure": Cause.FAILURE,
    "answered_elsewhere": Cause.ANSWERED_ELSEWHERE,
}

# cause -> the ARI hangup reason that produces it (a cause without one is sent as
# ``reason_code``).
CAUSE_REASON: Final[dict[int, str]] = {cause: r for r, cause in HANGUP_REASON_CAUSE.items()}
