"""Asterisk names and numbers in one place: events, channel states, hangup causes, DIALSTATUS.

Shared by the engine's ARI/AMI clients and the Asterisk simulator so both sides of the wire
spell everything the same way. Values follow ``asterisk-protocol.md`` (sections A, B, E, H:
what a real Asterisk 22 sends).
"""

from __future__ import annotations

from typing import Final


class AriEvent:
    """ARI event ``type`` strings as sent on the events WebSocket."""

    STASIS_START: Final = "StasisStart"
    STASIS_END: Final = "StasisEnd"
    CHANNEL_CREATED: Final = "ChannelCreated"
    CHANNEL_DESTROYED: Final = "ChannelDestroyed"
    CHANNEL_STATE_CHANGE: Final = "ChannelStateChange"
    CHANNEL_HANGUP_REQUEST: Final = "ChannelHangupRequest"
    CHANNEL_DTMF_RECEIVED: Final = "ChannelDtmfReceived"
    CHANNEL_VARSET: Final = "ChannelVarset"
    CHANNEL_DIALPLAN: Final = "ChannelDialplan"
    CHANNEL_CALLERID: Final = "ChannelCallerId"
    CHANNEL_CONNECTED_LINE: Final = "ChannelConnectedLine"
    CHANNEL_HOLD: Final = "ChannelHold"
    CHANNEL_UNHOLD: Final = "ChannelUnhold"
    CHANNEL_TALKING_STARTED: Final = "ChannelTalkingStarted"
    CHANNEL_TALKING_FINISHED: Final = "ChannelTalkingFinished"
    CHANNEL_ENTERED_BRIDGE: Final = "ChannelEnteredBridge"
    CHANNEL_LEFT_BRIDGE: Final = "ChannelLeftBridge"
    CHANNEL_USEREVENT: Final = "ChannelUserevent"
    DIAL: Final = "Dial"
    PLAYBACK_STARTED: Final = "PlaybackStarted"
    PLAYBACK_CONTINUING: Final = "PlaybackContinuing"
    PLAYBACK_FINISHED: Final = "PlaybackFinished"
    RECORDING_STARTED: Final = "RecordingStarted"
    RECORDING_FINISHED: Final = "RecordingFinished"
    RECORDING_FAILED: Final = "RecordingFailed"
    BRIDGE_CREATED: Final = "BridgeCreated"
    BRIDGE_DESTROYED: Final = "BridgeDestroyed"
    BRIDGE_MERGED: Final = "BridgeMerged"
    BRIDGE_BLIND_TRANSFER: Final = "BridgeBlindTransfer"
    BRIDGE_ATTENDED_TRANSFER: Final = "BridgeAttendedTransfer"
    APPLICATION_REPLACED: Final = "ApplicationReplaced"
    APPLICATION_REGISTERED: Final = "ApplicationRegistered"
    APPLICATION_UNREGISTERED: Final = "ApplicationUnregistered"
    DEVICE_STATE_CHANGED: Final = "DeviceStateChanged"
    ENDPOINT_STATE_CHANGE: Final = "EndpointStateChange"
    CONTACT_STATUS_CHANGE: Final = "ContactStatusChange"
    PEER_STATUS_CHANGE: Final = "PeerStatusChange"
    TEXT_MESSAGE_RECEIVED: Final = "TextMessageReceived"


# The event types a call engine needs (section H: an eventFilter cuts 53 events/call to ~7).
CALL_EVENT_TYPES: Final[tuple[str, ...]] = (
    AriEvent.STASIS_START,
    AriEvent.STASIS_END,
    AriEvent.CHANNEL_STATE_CHANGE,
    AriEvent.CHANNEL_HANGUP_REQUEST,
    AriEvent.CHANNEL_DESTROYED,
    AriEvent.CHANNEL_DTMF_RECEIVED,
    AriEvent.DIAL,
    AriEvent.PLAYBACK_STARTED,
    AriEvent.PLAYBACK_CONTINUING,
    AriEvent.PLAYBACK_FINISHED,
    AriEvent.CHANNEL_ENTERED_BRIDGE,
    AriEvent.CHANNEL_LEFT_BRIDGE,
    AriEvent.RECORDING_STARTED,
    AriEvent.RECORDING_FINISHED,
    AriEvent.RECORDING_FAILED,
)


class ChannelState:
    """Channel ``state`` strings (``ast_state2str``): Asterisk emits Rsrvd, swagger says Rsrved."""

    DOWN: Final = "Down"
    RSRVD: Final = "Rsrvd"
    RSRVED_SWAGGER: Final = "Rsrved"
    OFFHOOK: Final = "OffHook"
    DIALING: Final = "Dialing"
    RING: Final = "Ring"
    RINGING: Final = "Ringing"
    UP: Final = "Up"
    BUSY: Final = "Busy"
    DIALING_OFFHOOK: Final = "Dialing Offhook"
    PRE_RING: Final = "Pre-ring"
    MUTE: Final = "Mute"


# States in which answer/ring/progress/play/... give 412 (A.1 "state check").
INVALID_FOR_MEDIA_STATES: Final[frozenset[str]] = frozenset(
    {ChannelState.DOWN, ChannelState.RSRVD, ChannelState.RSRVED_SWAGGER, ChannelState.RINGING}
)


class PlaybackState:
    """Playback object ``state`` values."""

    QUEUED: Final = "queued"
    PLAYING: Final = "playing"
    CONTINUING: Final = "continuing"
    PAUSED: Final = "paused"
    DONE: Final = "done"
    FAILED: Final = "failed"


class RecordingState:
    """LiveRecording ``state`` values."""

    QUEUED: Final = "queued"
    RECORDING: Final = "recording"
    PAUSED: Final = "paused"
    DONE: Final = "done"
    FAILED: Final = "failed"
    CANCELED: Final = "canceled"


class Cause:
    """Q.850 hangup cause codes used by the engine (section E)."""

    UNALLOCATED: Final = 1
    NO_ROUTE_DESTINATION: Final = 3
    NORMAL_CLEARING: Final = 16
    USER_BUSY: Final = 17
    NO_USER_RESPONSE: Final = 18
    NO_ANSWER: Final = 19
    SUBSCRIBER_ABSENT: Final = 20
    CALL_REJECTED: Final = 21
    ANSWERED_ELSEWHERE: Final = 26
    INVALID_NUMBER_FORMAT: Final = 28
    NORMAL_UNSPECIFIED: Final = 31
    NORMAL_CIRCUIT_CONGESTION: Final = 34
    NORMAL_TEMPORARY_FAILURE: Final = 41
    FAILURE: Final = 38
    BEARERCAPABILITY_NOTAVAIL: Final = 58
    INTERWORKING: Final = 127


# The soft-hangup bitmask ChannelHangupRequest carries (with soft: true) for an explicit hangup.
SOFT_HANGUP_EXPLICIT: Final = 32

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
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}


def sip_to_cause(code: int) -> int:
    """The Q.850 cause chan_pjsip derives from a SIP final response code (section E)."""
    explicit = {
        404: 1,
        485: 1,
        604: 1,
        401: 21,
        403: 21,
        407: 21,
        603: 21,
        408: 18,
        480: 19,
        483: 19,
        486: 17,
        600: 17,
        503: 34,
        487: 127,
        488: 58,
        606: 58,
        484: 28,
        500: 38,
    }
    if code in explicit:
        return explicit[code]
    if 400 <= code < 500:
        return 127
    if 500 <= code < 600:
        return 34
    return Cause.NORMAL_CLEARING


# cause -> SIP response code Asterisk sends for it (section E; None = no SIP mapping listed).
CAUSE_TO_SIP: Final[dict[int, int]] = {
    1: 404,
    17: 486,
    18: 408,
    19: 480,
    20: 480,
    21: 403,
    31: 480,
    34: 503,
}


class DialStatus:
    """DIALSTATUS / Dial event ``dialstatus`` values. The first Dial event carries ``""``."""

    NONE: Final = ""
    ANSWER: Final = "ANSWER"
    BUSY: Final = "BUSY"
    NOANSWER: Final = "NOANSWER"
    CANCEL: Final = "CANCEL"
    CONGESTION: Final = "CONGESTION"
    CHANUNAVAIL: Final = "CHANUNAVAIL"
    DONTCALL: Final = "DONTCALL"
    TORTURE: Final = "TORTURE"
    INVALIDARGS: Final = "INVALIDARGS"
    RINGING: Final = "RINGING"
    PROGRESS: Final = "PROGRESS"
    PROCEEDING: Final = "PROCEEDING"


# cause -> DIALSTATUS the Dial() application sets (section E).
CAUSE_DIALSTATUS: Final[dict[int, str]] = {
    1: DialStatus.CHANUNAVAIL,
    16: DialStatus.NOANSWER,
    17: DialStatus.BUSY,
    18: DialStatus.CHANUNAVAIL,
    19: DialStatus.NOANSWER,
    20: DialStatus.CHANUNAVAIL,
    21: DialStatus.CHANUNAVAIL,
    31: DialStatus.CHANUNAVAIL,
    34: DialStatus.CONGESTION,
}


class ChannelVar:
    """Channel variable names the engine and dialplan read or set."""

    DIALSTATUS: Final = "DIALSTATUS"
    STASISSTATUS: Final = "STASISSTATUS"
    HANGUPCAUSE: Final = "HANGUPCAUSE"
    AGISTATUS: Final = "AGISTATUS"
    AGISIGHUP: Final = "AGISIGHUP"
    CALLERID_NUM: Final = "CALLERID(num)"
    CALLERID_NAME: Final = "CALLERID(name)"
    CHANNEL_STATE: Final = "CHANNEL(state)"
    CDR_USERFIELD: Final = "CDR(userfield)"
    PJSIP_HEADER_PREFIX: Final = "PJSIP_HEADER"


class StasisStatus:
    """STASISSTATUS values set by the Stasis() dialplan application."""

    SUCCESS: Final = "SUCCESS"
    FAILED: Final = "FAILED"


class AmiEvent:
    """AMI ``Event:`` names the engine listens to."""

    FULLY_BOOTED: Final = "FullyBooted"
    ORIGINATE_RESPONSE: Final = "OriginateResponse"
    HANGUP: Final = "Hangup"
    NEWCHANNEL: Final = "Newchannel"
    NEWSTATE: Final = "Newstate"
    CORE_SHOW_CHANNEL: Final = "CoreShowChannel"
    CORE_SHOW_CHANNELS_COMPLETE: Final = "CoreShowChannelsComplete"
    CDR: Final = "Cdr"
    QUEUE_CALLER_JOIN: Final = "QueueCallerJoin"
    QUEUE_CALLER_LEAVE: Final = "QueueCallerLeave"
    QUEUE_CALLER_ABANDON: Final = "QueueCallerAbandon"
    AGENT_CALLED: Final = "AgentCalled"
    AGENT_CONNECT: Final = "AgentConnect"
    AGENT_COMPLETE: Final = "AgentComplete"
    AGENT_RING_NO_ANSWER: Final = "AgentRingNoAnswer"
    QUEUE_MEMBER_STATUS: Final = "QueueMemberStatus"


class OriginateReason:
    """AMI OriginateResponse ``Reason`` codes (section B)."""

    FAILED: Final = 0
    HUNG_UP: Final = 1
    RINGING: Final = 3
    ANSWERED: Final = 4
    BUSY: Final = 5
    CONGESTION: Final = 8


# Default ports Asterisk listens on.
ARI_DEFAULT_PORT: Final = 8088
AMI_DEFAULT_PORT: Final = 5038
AGI_DEFAULT_PORT: Final = 4573
