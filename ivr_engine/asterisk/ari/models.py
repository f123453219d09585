"""ARI objects as typed, immutable dataclasses (Channel, Bridge, Playback, LiveRecording, ...).

Each ``from_json`` accepts what Asterisk sends and tolerates what it may add later: optional
keys default, and keys this code does not know are logged once per object kind and field
(newer Asterisk versions add fields; the engine must not break or flood the log).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("ivr_engine.asterisk.ari")

_seen_unknown: set[tuple[str, str]] = set()


def note_unknown(kind: str, keys: Iterable[str], known: frozenset[str]) -> None:
    """Log each field of ``kind`` this code does not know, once per (kind, field) per process."""
    if known.issuperset(keys):  # the usual case, checked in C
        return
    for key in keys:
        if key not in known and (kind, key) not in _seen_unknown:
            _seen_unknown.add((kind, key))
            log.info("ARI %s carries an unknown field %r (ignored from now on)", kind, key)


def parse_time(text: str | None) -> datetime | None:
    """Parse an ARI timestamp (``%FT%T.%q%z``, e.g. ``2025-03-01T14:05:09.123+0900``)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        log.warning("unparseable ARI timestamp %r", text)
        return None


@dataclass(frozen=True, slots=True)
class CallerId:
    """A caller or connected-line party: name and number."""

    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CallerId:
        """Build from ``{"name": ..., "number": ...}`` (missing -> empty)."""
        if not data:
            return cls()
        name, number = data.get("name", ""), data.get("number", "")
        return cls(
            name if type(name) is str else str(name),
            number if type(number) is str else str(number),
        )


@dataclass(frozen=True, slots=True)
class DialplanLocation:
    """Where a channel is in the dialplan (context, exten, priority, app)."""

    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> DialplanLocation:
        """Build from the channel's ``dialplan`` object (app_name/app_data may be missing)."""
        if not data:
            return cls()
        return cls(
            context=str(data.get("context", "")),
            exten=str(data.get("exten", "")),
            priority=int(data.get("priority", 0) or 0),
            app_name=str(data.get("app_name", "")),
            app_data=str(data.get("app_data", "")),
        )


_CHANNEL_KEYS = frozenset(
    {
        "id",
        "name",
        "state",
        "protocol_id",
        "caller",
        "connected",
        "accountcode",
        "dialplan",
        "creationtime",
        "language",
        "caller_rdnis",
        "channelvars",
        "tenantid",
    }
)


class Channel:
    """An Asterisk channel as ARI describes it (one leg of a call).

    Read-only. ``id``, ``name`` and ``state`` are read from the snapshot at once; the rest
    (caller, connected line, dialplan location, creation time, variables, ...) only when
    asked for: a call's events carry eight full channel snapshots, and the engine reads a
    field or two of the first one.
    """

    __slots__ = ("_data", "id", "name", "state")

    id: str
    name: str
    state: str
    _data: Mapping[str, Any]

    def __init__(
        self, id: str, name: str = "", state: str = "", data: Mapping[str, Any] | None = None
    ) -> None:
        set_ = object.__setattr__
        set_(self, "id", id)
        set_(self, "name", name)
        set_(self, "state", state)
        set_(self, "_data", data if data is not None else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        """Build from a channel object; unknown keys are logged once."""
        note_unknown("Channel", data.keys(), _CHANNEL_KEYS)
        get = data.get
        return cls(str(data["id"]), str(get("name", "")), str(get("state", "")), data)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Channel is read-only: cannot set {name!r}")

    def _text(self, key: str) -> str:
        value = self._data.get(key, "")
        return value if type(value) is str else str(value)

    @property
    def caller(self) -> CallerId:
        """The calling party (name and number)."""
        return CallerId.from_json(self._data.get("caller"))

    @property
    def connected(self) -> CallerId:
        """The connected line (name and number)."""
        return CallerId.from_json(self._data.get("connected"))

    @property
    def dialplan(self) -> DialplanLocation:
        """Where the channel is in the dialplan."""
        return DialplanLocation.from_json(self._data.get("dialplan"))

    @property
    def creationtime(self) -> datetime | None:
        """When the channel was created (Asterisk's clock, with its offset)."""
        return parse_time(self._data.get("creationtime"))

    @property
    def language(self) -> str:
        """The channel's language."""
        return self._text("language")

    @property
    def accountcode(self) -> str:
        """The channel's account code."""
        return self._text("accountcode")

    @property
    def protocol_id(self) -> str:
        """The protocol's call id (SIP Call-ID)."""
        return self._text("protocol_id")

    @property
    def caller_rdnis(self) -> str:
        """The redirecting number (Asterisk 18.21+)."""
        return self._text("caller_rdnis")

    @property
    def channelvars(self) -> Mapping[str, str]:
        """The channel variables Asterisk was asked to send with every snapshot."""
        return dict(self._data.get("channelvars") or {})

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.name,
            self.state,
            self.caller,
            self.connected,
            self.dialplan,
            self.creationtime,
            self.language,
            self.accountcode,
            self.protocol_id,
            self.caller_rdnis,
            self.channelvars,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Channel(id={self.id!r}, name={self.name!r}, state={self.state!r}, "
            f"caller={self.caller!r}, dialplan={self.dialplan!r})"
        )


_BRIDGE_KEYS = frozenset(
    {
        "id",
        "technology",
        "bridge_type",
        "bridge_class",
        "creator",
        "name",
        "channels",
        "creationtime",
        "video_mode",
        "video_source_id",
    }
)


@dataclass(frozen=True, slots=True)
class Bridge:
    """A Stasis bridge: the channel ids currently in it."""

    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    creationtime: datetime | None = None
    video_mode: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bridge:
        """Build from a bridge object; unknown keys are logged once."""
        note_unknown("Bridge", data.keys(), _BRIDGE_KEYS)
        return cls(
            id=str(data["id"]),
            technology=str(data.get("technology", "")),
            bridge_type=str(data.get("bridge_type", "")),
            bridge_class=str(data.get("bridge_class", "")),
            creator=str(data.get("creator", "")),
            name=str(data.get("name", "")),
            channels=tuple(str(c) for c in data.get("channels") or ()),
            creationtime=parse_time(data.get("creationtime")),
            video_mode=str(data.get("video_mode", "")),
        )


def _target(uri: str) -> tuple[str, str]:
    """Split ``channel:<id>`` / ``bridge:<id>`` into (kind, id)."""
    kind, _, ident = uri.partition(":")
    return kind, ident


_PLAYBACK_KEYS = frozenset(
    {
        "id",
        "media_uri",
        "next_media_uri",
        "target_uri",
        "language",
        "state",
    }
)


@dataclass(frozen=True, slots=True)
class Playback:
    """A playback of one or more media URIs on a channel or bridge."""

    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""
    language: str = ""
    next_media_uri: str = ""

    @property
    def channel_id(self) -> str | None:
        """The target channel's id when playing on a channel, else None."""
        kind, ident = _target(self.target_uri)
        return ident if kind == "channel" else None

    @property
    def bridge_id(self) -> str | None:
        """The target bridge's id when playing on a bridge, else None."""
        kind, ident = _target(self.target_uri)
        return ident if kind == "bridge" else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Playback:
        """Build from a playback object; unknown keys are logged once."""
        note_unknown("Playback", data.keys(), _PLAYBACK_KEYS)
        return cls(
            id=str(data["id"]),
            media_uri=str(data.get("media_uri", "")),
            target_uri=str(data.get("target_uri", "")),
            state=str(data.get("state", "")),
            language=str(data.get("language", "")),
            next_media_uri=str(data.get("next_media_uri", "")),
        )


_RECORDING_KEYS = frozenset(
    {
        "name",
        "format",
        "state",
        "target_uri",
        "duration",
        "talking_duration",
        "silence_duration",
        "cause",
    }
)


@dataclass(frozen=True, slots=True)
class LiveRecording:
    """A recording in progress (or just ended) on a channel or bridge."""

    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str = ""

    @property
    def channel_id(self) -> str | None:
        """The recorded channel's id when recording a channel, else None."""
        kind, ident = _target(self.target_uri)
        return ident if kind == "channel" else None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveRecording:
        """Build from a LiveRecording object; unknown keys are logged once."""
        note_unknown("LiveRecording", data.keys(), _RECORDING_KEYS)
        return cls(
            name=str(data["name"]),
            format=str(data.get("format", "")),
            state=str(data.get("state", "")),
            target_uri=str(data.get("target_uri", "")),
            duration=_opt_int(data.get("duration")),
            talking_duration=_opt_int(data.get("talking_duration")),
            silence_duration=_opt_int(data.get("silence_duration")),
            cause=str(data.get("cause", "")),
        )


def _opt_int(value: Any) -> int | None:
    """An int, or None when absent."""
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class AsteriskInfo:
    """``GET /asterisk/info``: version, entity id and the raw sections for anything else."""

    version: str = ""
    entity_id: str = ""
    default_language: str = ""
    startup_time: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AsteriskInfo:
        """Build from the info document; every section is optional (``?only=``)."""
        system = data.get("system") or {}
        config = data.get("config") or {}
        status = data.get("status") or {}
        return cls(
            version=str(system.get("version", "")),
            entity_id=str(system.get("entity_id", "")),
            default_language=str(config.get("default_language", "")),
            startup_time=parse_time(status.get("startup_time")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class AsteriskPing:
    """``GET /asterisk/ping``: which Asterisk answered and its clock."""

    asterisk_id: str
    ping: str
    timestamp: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AsteriskPing:
        """Build from ``{asterisk_id, ping, timestamp}``."""
        return cls(
            asterisk_id=str(data.get("asterisk_id", "")),
            ping=str(data.get("ping", "")),
            timestamp=parse_time(data.get("timestamp")),
        )


@dataclass(frozen=True, slots=True)
class Application:
    """A Stasis application: what it is subscribed to."""

    name: str
    channel_ids: tuple[str, ...] = ()
    bridge_ids: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()
    device_names: tuple[str, ...] = ()
    events_allowed: tuple[Mapping[str, Any], ...] = ()
    events_disallowed: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Application:
        """Build from an application object."""
        return cls(
            name=str(data.get("name", "")),
            channel_ids=tuple(data.get("channel_ids") or ()),
            bridge_ids=tuple(data.get("bridge_ids") or ()),
            endpoint_ids=tuple(data.get("endpoint_ids") or ()),
            device_names=tuple(data.get("device_names") or ()),
            events_allowed=tuple(data.get("events_allowed") or ()),
            events_disallowed=tuple(data.get("events_disallowed") or ()),
        )
