"""The simulated Asterisk objects (channel, bridge, playback, live recording) and their ARI JSON."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivr_engine.asterisk.constants import ChannelState, PlaybackState, RecordingState
from ivr_engine.sim.timeline import Timeline

if TYPE_CHECKING:
    from ivr_engine.sim.behaviour import Behaviour
    from ivr_engine.sim.control import ChannelControl

# How a channel came to be; decides its hangup event order (section H).
INBOUND = "inbound"  # a SIP call from the trunk, entered Stasis from the dialplan
CREATED = "created"  # POST /channels/create
ORIGINATED = "originated"  # POST /channels (originate)
SNOOP = "snoop"
DIALPLAN = "dialplan"  # a leg dialled by the dialplan (fallback), never in Stasis


@dataclass
class Channel:
    """One simulated channel with the fields ARI's Channel object shows."""

    id: str
    name: str
    kind: str
    state: str
    creationtime: str
    timeline: Timeline
    caller_name: str = ""
    caller_number: str = ""
    connected_name: str = ""
    connected_number: str = ""
    accountcode: str = ""
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    app_name: str = ""
    app_data: str = ""
    language: str = "en"
    protocol_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    # Stasis
    stasis_app: str | None = None
    entering_stasis: bool = False
    dialstring: str | None = None  # set for /channels/create legs (the resource to dial)
    dialled: bool = False
    endpoint_resource: str = ""
    behaviour: Behaviour | None = None
    bridge_id: str | None = None
    control: ChannelControl | None = None
    hanging_up: bool = False
    gone: bool = False
    had_media: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    hangup_cause: int = 0
    snoop_target: str | None = None
    whisper: bool = False
    pending: dict[str, Any] = field(default_factory=dict)
    started_epoch: float = 0.0
    linkedid: str = ""
    answered_at: float | None = None

    @property
    def number(self) -> str:
        """The dialled or calling number this party represents."""
        return self.endpoint_resource or self.caller_number

    def to_json(self) -> dict[str, Any]:
        """The ARI Channel object (field order as Asterisk sends it)."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": {"name": self.caller_name, "number": self.caller_number},
            "connected": {"name": self.connected_name, "number": self.connected_number},
            "accountcode": self.accountcode,
            "dialplan": {
                "context": self.context,
                "exten": self.exten,
                "priority": self.priority,
                "app_name": self.app_name,
                "app_data": self.app_data,
            },
            "creationtime": self.creationtime,
            "language": self.language,
        }

    @property
    def is_up(self) -> bool:
        """True once answered."""
        return self.state == ChannelState.UP


@dataclass
class Bridge:
    """A Stasis bridge."""

    id: str
    name: str
    bridge_type: str
    creationtime: str
    channels: list[str] = field(default_factory=list)
    technology: str = "simple_bridge"
    video_mode: str = "talker"
    control: ChannelControl | None = None
    moh_class: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ARI Bridge object."""
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": self.video_mode,
        }


@dataclass
class Playback:
    """One playback: a list of media URIs played in turn on a channel or a bridge."""

    id: str
    media: list[str]
    target_uri: str
    language: str
    state: str = PlaybackState.QUEUED
    index: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    control: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    finished: bool = False
    offsetms: int = 0
    skipms: int = 3000

    @property
    def media_uri(self) -> str:
        """The URI now playing (or about to)."""
        return self.media[min(self.index, len(self.media) - 1)]

    def to_json(self) -> dict[str, Any]:
        """The ARI Playback object."""
        body: dict[str, Any] = {"id": self.id, "media_uri": self.media_uri}
        if self.index + 1 < len(self.media):
            body["next_media_uri"] = self.media[self.index + 1]
        body.update({"target_uri": self.target_uri, "language": self.language, "state": self.state})
        return body


@dataclass
class LiveRecording:
    """A recording in progress (or just ended) on a channel or bridge."""

    name: str
    format: str
    target_uri: str
    state: str = RecordingState.QUEUED
    max_duration: float = 0.0
    terminate_on: str = "none"
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_state: str = RecordingState.DONE
    started_at: float = 0.0
    duration: float | None = None
    cause: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ARI LiveRecording object."""
        body: dict[str, Any] = {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": self.target_uri,
        }
        if self.duration is not None:
            body["duration"] = int(self.duration)
            body["talking_duration"] = int(self.duration)
            body["silence_duration"] = 0
        if self.cause:
            body["cause"] = self.cause
        return body
