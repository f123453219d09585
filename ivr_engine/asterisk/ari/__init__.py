"""The engine's ARI client: typed REST calls, typed events, the events WebSocket, waiters."""

from ivr_engine.asterisk.ari.client import AriClient
from ivr_engine.asterisk.ari.errors import (
    AriAuthError,
    AriBadRequest,
    AriConflict,
    AriConnectionError,
    AriError,
    AriInvalidState,
    AriNotFound,
    AriServerError,
    AriUnprocessable,
)
from ivr_engine.asterisk.ari.http import RequestStat
from ivr_engine.asterisk.ari.models import (
    Application,
    AsteriskInfo,
    AsteriskPing,
    Bridge,
    CallerId,
    Channel,
    DialplanLocation,
    LiveRecording,
    Playback,
)
from ivr_engine.asterisk.ari.stream import Backoff, EventStream, StreamHealth, StreamState
from ivr_engine.asterisk.ari.waiters import Dispatcher, Subscription, Waiter

__all__ = [
    "Application",
    "AriAuthError",
    "AriBadRequest",
    "AriClient",
    "AriConflict",
    "AriConnectionError",
    "AriError",
    "AriInvalidState",
    "AriNotFound",
    "AriServerError",
    "AriUnprocessable",
    "AsteriskInfo",
    "AsteriskPing",
    "Backoff",
    "Bridge",
    "CallerId",
    "Channel",
    "DialplanLocation",
    "Dispatcher",
    "EventStream",
    "LiveRecording",
    "Playback",
    "RequestStat",
    "StreamHealth",
    "StreamState",
    "Subscription",
    "Waiter",
]
