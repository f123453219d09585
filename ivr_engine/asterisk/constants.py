"""Asterisk names and numbers in one place: events, channel states, hangup causes.

Shared by the engine's ARI/AMI clients and the Asterisk simulator so both sides of the wire
spell everything the same way. Values follow ``asterisk-protocol.md`` (sections A, B, E, H:
what a real Asterisk 22 sends). The Q.850 causes live in ``domain.causes`` (the pure planner
needs them too) and are re-exported here.
"""

from __future__ import annotations

from typing import Final

# Re-exported: the causes live in the pure domain.
from ivr_engine.domain.causes import CAUSE_TXT as CAUSE_TXT
from ivr_engine.domain.causes import HANGUP_REASON_CAUSE as HANGUP_REASON_CAUSE
from ivr_engine.domain.causes import Cause as Cause
from ivr_engine.domain.causes import cause_txt as cause_txt


class AriEvent:
    """ARI event ``type`` strings as sent on the events WebSocket."""

    STASIS_START: Final = "StasisStart"
    REST_RESPONSE: Final = "RESTResponse"  # the reply to a request sent on the socket
    REST_REQUEST: Final = "RESTRequest"  # the frame a client sends (not an event)
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


# The events a call session reacts to: the app's event filter lets only these through, so
# everything else is dropped by Asterisk itself (section H: the filter cuts the event traffic
# per call several-fold): ChannelVarset above all, and the state changes and bridge entries
# of every leg, which no session waits for (a leg is answered when it enters the app,
# bridged when addChannel replies). RESTResponse is added by the client when it sends
# requests on the socket.
CALL_EVENT_TYPES: Final[tuple[str, ...]] = (
    AriEvent.STASIS_START,
    AriEvent.STASIS_END,
    AriEvent.CHANNEL_DESTROYED,
    AriEvent.CHANNEL_HANGUP_REQUEST,
    AriEvent.PLAYBACK_FINISHED,
    AriEvent.CHANNEL_DTMF_RECEIVED,
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


# The soft-hangup bitmask ChannelHangupRequest carries (with soft: true) for an explicit hangup.
SOFT_HANGUP_EXPLICIT: Final = 32


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


class ChannelVar:
    """Channel variable names the engine and dialplan read or set."""

    STASISSTATUS: Final = "STASISSTATUS"


class StasisStatus:
    """STASISSTATUS values set by the Stasis() dialplan application."""

    SUCCESS: Final = "SUCCESS"
    FAILED: Final = "FAILED"


class OriginateReason:
    """AMI OriginateResponse ``Reason`` codes (section B)."""

    FAILED: Final = 0
    HUNG_UP: Final = 1
    RINGING: Final = 3
    ANSWERED: Final = 4
    BUSY: Final = 5
    CONGESTION: Final = 8
