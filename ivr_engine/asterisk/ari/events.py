"""ARI events as typed dataclasses, and ``parse_event`` that builds them from the wire.

Every event has ``type``, ``timestamp``, ``application`` and ``asterisk_id``. Types this
module does not know become ``UnknownEvent``, which keeps the decoded JSON object in ``raw``;
known events keep only their typed fields (the decoded object, with its full channel
snapshots, is let go once parsed). Fields this module does not know are ignored.
Both are logged once per type / field, not once per event. Optional fields default so that
older and newer Asterisk versions parse alike (``tech_cause`` since 20.17, ``soft`` only on
soft hangups, ``caller`` absent from Dial events in practice).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ivr_engine.asterisk.ari.models import (
    Bridge,
    CallerId,
    Channel,
    LiveRecording,
    Playback,
    note_unknown,
    parse_time,
)

log = logging.getLogger("ivr_engine.asterisk.ari")

_COMMON = frozenset({"type", "timestamp", "application", "asterisk_id"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Base of every ARI event."""

    TYPE: ClassVar[str] = ""
    type: str
    timestamp: datetime | None = None
    application: str = ""
    asterisk_id: str = ""

    def related_ids(self) -> tuple[str, ...]:
        """Channel, bridge and playback ids this event is about (for dispatch by id)."""
        ids: list[str] = []
        for name in ("channel", "peer", "caller", "replace_channel", "bridge"):
            obj = getattr(self, name, None)
            if obj is not None:
                ids.append(obj.id)
        playback = getattr(self, "playback", None)
        if playback is not None:
            ids.append(playback.id)
            ids.append(playback.target_uri.partition(":")[2])
        recording = getattr(self, "recording", None)
        if recording is not None:
            ids.append(recording.target_uri.partition(":")[2])
        return tuple(ids)


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownEvent(Event):
    """An event type this code does not model; ``raw`` holds everything."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelEvent(Event):
    """An event about one channel."""

    channel: Channel


@dataclass(frozen=True, kw_only=True, slots=True)
class StasisStart(ChannelEvent):
    """A channel entered the application; ``args`` are the Stasis() / appArgs arguments."""

    TYPE = "StasisStart"
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StasisEnd(ChannelEvent):
    """A channel left the application (hung up, continued, moved)."""

    TYPE = "StasisEnd"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelCreated(ChannelEvent):
    """A channel was created."""

    TYPE = "ChannelCreated"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelStateChange(ChannelEvent):
    """A channel's state changed (Ringing, Up, ...)."""

    TYPE = "ChannelStateChange"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelDestroyed(ChannelEvent):
    """A channel is gone; ``cause`` is the Q.850 cause the call outcome is keyed on."""

    TYPE = "ChannelDestroyed"
    cause: int = 0
    cause_txt: str = ""
    tech_cause: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelHangupRequest(ChannelEvent):
    """A hangup was requested. With ``soft`` the cause is a bitmask (32), not a Q.850 cause."""

    TYPE = "ChannelHangupRequest"
    cause: int | None = None
    soft: bool | None = None
    tech_cause: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelDtmfReceived(ChannelEvent):
    """The far end sent a DTMF digit (reported at digit end)."""

    TYPE = "ChannelDtmfReceived"
    digit: str = ""
    duration_ms: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelVarset(Event):
    """A channel variable (or a global one, without ``channel``) was set."""

    TYPE = "ChannelVarset"
    variable: str = ""
    value: str = ""
    channel: Channel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelDialplan(ChannelEvent):
    """A channel moved in the dialplan."""

    TYPE = "ChannelDialplan"
    dialplan_app: str = ""
    dialplan_app_data: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelCallerId(ChannelEvent):
    """A channel's caller id changed."""

    TYPE = "ChannelCallerId"
    caller_presentation: int = 0
    caller_presentation_txt: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelConnectedLine(ChannelEvent):
    """A channel's connected line changed."""

    TYPE = "ChannelConnectedLine"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelHold(ChannelEvent):
    """The far end put the channel on hold."""

    TYPE = "ChannelHold"
    musicclass: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelUnhold(ChannelEvent):
    """The far end took the channel off hold."""

    TYPE = "ChannelUnhold"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelTalkingStarted(ChannelEvent):
    """Talk detection: speech started."""

    TYPE = "ChannelTalkingStarted"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelTalkingFinished(ChannelEvent):
    """Talk detection: speech ended after ``duration`` ms."""

    TYPE = "ChannelTalkingFinished"
    duration: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelUserevent(Event):
    """A UserEvent raised from the dialplan."""

    TYPE = "ChannelUserevent"
    eventname: str = ""
    userevent: Mapping[str, Any] = field(default_factory=dict)
    channel: Channel | None = None
    bridge: Bridge | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BridgeEvent(Event):
    """An event about one bridge."""

    bridge: Bridge


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelEnteredBridge(BridgeEvent):
    """A channel joined a bridge."""

    TYPE = "ChannelEnteredBridge"
    channel: Channel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelLeftBridge(BridgeEvent):
    """A channel left a bridge."""

    TYPE = "ChannelLeftBridge"
    channel: Channel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BridgeCreated(BridgeEvent):
    """A bridge was created."""

    TYPE = "BridgeCreated"


@dataclass(frozen=True, kw_only=True, slots=True)
class BridgeDestroyed(BridgeEvent):
    """A bridge was destroyed."""

    TYPE = "BridgeDestroyed"


@dataclass(frozen=True, kw_only=True, slots=True)
class Dial(Event):
    """Dial progress of ``peer``. ``dialstatus`` is "" on the first event; not the outcome key."""

    TYPE = "Dial"
    peer: Channel
    dialstatus: str = ""
    dialstring: str = ""
    forward: str = ""
    caller: Channel | None = None
    forwarded: Channel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PlaybackEvent(Event):
    """An event about one playback."""

    playback: Playback


@dataclass(frozen=True, kw_only=True, slots=True)
class PlaybackStarted(PlaybackEvent):
    """A playback began playing (state ``playing``)."""

    TYPE = "PlaybackStarted"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlaybackContinuing(PlaybackEvent):
    """A playback moved to the next URI of its media list."""

    TYPE = "PlaybackContinuing"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlaybackFinished(PlaybackEvent):
    """A playback ended: state ``done`` (also when stopped) or ``failed`` (e.g. missing file)."""

    TYPE = "PlaybackFinished"


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingEvent(Event):
    """An event about one live recording."""

    recording: LiveRecording


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingStarted(RecordingEvent):
    """A recording began."""

    TYPE = "RecordingStarted"


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingFinished(RecordingEvent):
    """A recording ended (done or canceled)."""

    TYPE = "RecordingFinished"


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingFailed(RecordingEvent):
    """A recording failed."""

    TYPE = "RecordingFailed"


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplicationReplaced(Event):
    """Another WebSocket registered the same application; this one gets no more events."""

    TYPE = "ApplicationReplaced"


EVENT_CLASSES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        StasisStart,
        StasisEnd,
        ChannelCreated,
        ChannelStateChange,
        ChannelDestroyed,
        ChannelHangupRequest,
        ChannelDtmfReceived,
        ChannelVarset,
        ChannelDialplan,
        ChannelCallerId,
        ChannelConnectedLine,
        ChannelHold,
        ChannelUnhold,
        ChannelTalkingStarted,
        ChannelTalkingFinished,
        ChannelUserevent,
        ChannelEnteredBridge,
        ChannelLeftBridge,
        BridgeCreated,
        BridgeDestroyed,
        Dial,
        PlaybackStarted,
        PlaybackContinuing,
        PlaybackFinished,
        RecordingStarted,
        RecordingFinished,
        RecordingFailed,
        ApplicationReplaced,
    )
}


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _opt_channel(value: Any) -> Channel | None:
    return Channel.from_json(value) if value else None


# How each field is converted from JSON, by field name (same meaning in every event).
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "channel": _opt_channel,
    "peer": Channel.from_json,
    "caller": _opt_channel,
    "forwarded": _opt_channel,
    "replace_channel": _opt_channel,
    "bridge": lambda v: Bridge.from_json(v) if v else None,
    "playback": Playback.from_json,
    "recording": LiveRecording.from_json,
    "args": lambda v: tuple(str(a) for a in v or ()),
    "cause": _opt_int,
    "tech_cause": _opt_int,
    "soft": _opt_bool,
    "duration_ms": int,
    "duration": int,
    "caller_presentation": int,
    "userevent": dict,
}

_FIELDS: dict[type[Event], tuple[tuple[str, ...], frozenset[str]]] = {}


def _fields_of(cls: type[Event]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(event-specific field names, every known key) for a class, cached."""
    cached = _FIELDS.get(cls)
    if cached is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _COMMON | {"raw"})
        cached = (names, frozenset(names) | _COMMON)
        _FIELDS[cls] = cached
    return cached


_seen_types: set[str] = set()


def parse_event(raw: Mapping[str, Any]) -> Event:
    """Build the typed event for one decoded JSON event object.

    Raises ``ValueError`` when a known event lacks a required field or a field has a bad
    type; the stream logs it and carries on.
    """
    etype = str(raw.get("type", ""))
    cls = EVENT_CLASSES.get(etype)
    common: dict[str, Any] = {
        "type": etype,
        "timestamp": parse_time(raw.get("timestamp")),
        "application": str(raw.get("application", "")),
        "asterisk_id": str(raw.get("asterisk_id", "")),
    }
    if cls is None:
        if etype not in _seen_types:
            _seen_types.add(etype)
            log.info("unknown ARI event type %r (passed on as UnknownEvent)", etype)
        return UnknownEvent(**common, raw=raw)
    names, known = _fields_of(cls)
    note_unknown(etype, raw.keys(), known)
    kwargs: dict[str, Any] = {}
    for name in names:
        if name in raw:
            value = raw[name]
            conv = _CONVERTERS.get(name)
            kwargs[name] = conv(value) if conv is not None else value
    try:
        return cls(**common, **kwargs)
    except TypeError as exc:
        raise ValueError(f"malformed {etype} event: {exc}") from exc


__all__ = [
    "EVENT_CLASSES",
    "ApplicationReplaced",
    "BridgeCreated",
    "BridgeDestroyed",
    "BridgeEvent",
    "CallerId",
    "ChannelCallerId",
    "ChannelConnectedLine",
    "ChannelCreated",
    "ChannelDestroyed",
    "ChannelDialplan",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelEvent",
    "ChannelHangupRequest",
    "ChannelHold",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelTalkingFinished",
    "ChannelTalkingStarted",
    "ChannelUnhold",
    "ChannelUserevent",
    "ChannelVarset",
    "Dial",
    "Event",
    "PlaybackContinuing",
    "PlaybackEvent",
    "PlaybackFinished",
    "PlaybackStarted",
    "RecordingEvent",
    "RecordingFailed",
    "RecordingFinished",
    "RecordingStarted",
    "StasisEnd",
    "StasisStart",
    "UnknownEvent",
    "parse_event",
]
