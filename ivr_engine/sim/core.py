"""The simulated Asterisk core: channels, Stasis entry and exit, hangups, bridges, events.

Event orders follow what a real Asterisk 22.10.1 sent (protocol page, section H): an ARI
DELETE gives ChannelHangupRequest {cause 32, soft}; a plain inbound channel is forgotten at
StasisEnd; a created leg or a channel the app is also subscribed to ends with
ChannelDestroyed carrying the Q.850 cause.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from ivr_engine.asterisk.constants import (
    CAUSE_TO_SIP,
    SOFT_HANGUP_EXPLICIT,
    AriEvent,
    ChannelState,
    ChannelVar,
    StasisStatus,
    cause_txt,
)
from ivr_engine.sim import timeline as tl
from ivr_engine.sim.ari_events import AppRegistry
from ivr_engine.sim.clock import SimClock
from ivr_engine.sim.control import ChannelControl
from ivr_engine.sim.model import (
    CREATED,
    INBOUND,
    Bridge,
    Channel,
    LiveRecording,
    Playback,
)
from ivr_engine.sim.sounds import SoundLibrary
from ivr_engine.sim.timeline import Timeline

log = logging.getLogger("ivr_engine.sim")

# How a hangup came about; each gives its own ChannelHangupRequest (section H).
BY_ARI = "ari"  # DELETE /channels/{id}: {cause 32, soft}
BY_BYE = "bye"  # the party sent BYE (a caller, or a dialled party after talking): no cause keys
BY_CANCEL = "cancel"  # the caller CANCELled before answer: {127, tech_cause 487}
BY_REJECT = "reject"  # a dialled party answered with a SIP error: {cause, tech_cause}
BY_TIMEOUT = "timeout"  # the dial timeout of a created leg: {32, soft}, destroyed with 19/480
BY_ORIGINATE_TIMEOUT = "originate_timeout"  # no HangupRequest at all
BY_DIALPLAN = "dialplan"  # the dialplan ended (Hangup() or no more priorities)

Observer = Callable[[str, Channel | None, dict[str, Any]], None]


class WorldCore:
    """State of the simulated Asterisk and the primitives every scenario is made of."""

    def __init__(
        self,
        clock: SimClock,
        sounds: SoundLibrary,
        registry: AppRegistry,
        *,
        trunk: str = "carrier",
        inbound_context: str = "from-carrier",
        language: str = "en",
        host: str = "127.0.0.1",
        stasis_start_delay: float = 0.002,
        destroy_delay: float = 0.0,
    ) -> None:
        self.clock = clock
        self.sounds = sounds
        self.registry = registry
        self.trunk = trunk
        self.inbound_context = inbound_context
        self.language = language
        self.host = host
        self.stasis_start_delay = stasis_start_delay
        # Simulated seconds from a hung-up channel's StasisEnd to its destruction: Asterisk
        # destroys it (and drops its snapshot) a moment later, about 1 ms on an idle box and
        # more under load; meanwhile it exists outside Stasis (addChannel answers 422).
        self.destroy_delay = destroy_delay
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.entered_bridge: dict[str, asyncio.Event] = {}  # channel id -> set once bridged
        self.playbacks: dict[str, Playback] = {}
        self.recordings: dict[str, LiveRecording] = {}
        self.stored_recordings: dict[str, str] = {}
        self.timelines: dict[str, Timeline] = {}
        self.all_channels: dict[str, Channel] = {}
        self.astdb: dict[str, str] = {}
        self.observers: list[Observer] = []
        self.related: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._names = itertools.count(1)

    # ------------------------------------------------------------------ objects
    def new_channel(
        self,
        kind: str,
        tech_name: str,
        *,
        channel_id: str | None = None,
        state: str = ChannelState.DOWN,
        **fields: Any,
    ) -> Channel:
        """Allocate a channel with an Asterisk-style id and name and announce it."""
        seq = next(self._ids)
        cid = channel_id or f"{int(self.clock.now())}.{seq}"
        name = f"{tech_name}-{next(self._names):08x}"
        timeline = Timeline(self.clock.elapsed)
        ch = Channel(
            id=cid,
            name=name,
            kind=kind,
            state=state,
            creationtime=self.clock.timestamp(),
            timeline=timeline,
            language=self.language,
            **fields,
        )
        ch.started_epoch = self.clock.now()
        if not ch.protocol_id:
            ch.protocol_id = (
                f"{seq}-{uuid.uuid4().hex[:6]}@{self.host}"
                if kind == INBOUND
                else str(uuid.uuid4())
            )
        self.channels[cid] = ch
        self.all_channels[cid] = ch
        self.timelines[cid] = timeline
        self.notify("Newchannel", ch)
        return ch

    def relate(self, a: Channel, b: Channel) -> None:
        """Remember that two channels belong to one call (caller and callee timelines)."""
        for x, y in ((a, b), (b, a)):
            peers = self.related.setdefault(x.id, [])
            if y.id not in peers:
                peers.append(y.id)

    def notify(self, what: str, ch: Channel | None, **info: Any) -> None:
        """Tell observers (the AMI server) about a channel (or bridge) happening."""
        for observer in list(self.observers):
            try:
                observer(what, ch, info)
            except Exception:  # an observer must never break the world
                log.exception("observer failed on %s", what)

    def spawn(self, ch: Channel | None, coro: Any) -> asyncio.Task[Any]:
        """Run a scenario task tied to a channel (cancelled when the channel ends)."""
        task = asyncio.create_task(coro)
        if ch is not None:
            ch.tasks.append(task)
        return task

    # ------------------------------------------------------------------ events
    def emit(
        self,
        event_type: str,
        body: dict[str, Any],
        channels: tuple[str, ...] = (),
        bridges: tuple[str, ...] = (),
    ) -> None:
        """Deliver one ARI event to the applications subscribed to its objects."""
        event = {"type": event_type, **body}
        self.registry.deliver(event, self.clock.timestamp(), channels, bridges)

    def emit_channel(self, event_type: str, ch: Channel, **fields: Any) -> None:
        """Emit an event about a channel (its snapshot taken now)."""
        self.emit(event_type, {**fields, "channel": ch.to_json()}, (ch.id,))

    def set_state(self, ch: Channel, state: str) -> None:
        """Change a channel's state and emit ChannelStateChange."""
        if ch.state == state:
            return
        ch.state = state
        self.emit_channel(AriEvent.CHANNEL_STATE_CHANGE, ch)
        self.notify("Newstate", ch)

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        """Set a channel variable and emit ChannelVarset."""
        ch.variables[name] = value
        self.emit_channel(AriEvent.CHANNEL_VARSET, ch, variable=name, value=value)

    # ------------------------------------------------------------------ Stasis
    def in_stasis(self, ch: Channel) -> bool:
        """Whether ARI may control the channel (find_control succeeds)."""
        return ch.stasis_app is not None and not ch.gone and ch.control is not None

    def enter_stasis(self, ch: Channel, app: str, args: list[str]) -> None:
        """The channel runs Stasis(app, args): subscribe the app and send StasisStart."""
        ch.stasis_app = app
        ch.app_name = "Stasis"
        ch.app_data = ",".join([app, *args])
        ch.entering_stasis = False
        self.registry.subscribe(app, "channels", ch.id)
        if ch.kind != INBOUND:
            self.set_var(ch, ChannelVar.STASISSTATUS, "")
        ch.control = ChannelControl(ch.id)
        self.emit_channel(AriEvent.STASIS_START, ch, args=list(args))
        ch.timeline.add(tl.STASIS, app, ended=True, args=",".join(args))

    def leave_stasis(self, ch: Channel) -> None:
        """StasisEnd, then the app's Stasis subscription is dropped."""
        app = ch.stasis_app
        if app is None:
            return
        self.emit_channel(AriEvent.STASIS_END, ch)
        self.registry.unsubscribe(app, "channels", ch.id)
        ch.stasis_app = None
        if ch.control is not None:
            ch.control.close()
            ch.control = None
        ch.app_name = ch.app_data = ""
        self.set_var(ch, ChannelVar.STASISSTATUS, StasisStatus.SUCCESS)

    # ------------------------------------------------------------------ hangup
    def hangup(self, ch: Channel, how: str, cause: int = 16, tech_cause: int | None = None) -> None:
        """End a channel with the event order of section H for how it was hung up."""
        if ch.hanging_up or ch.gone:
            return
        ch.hanging_up = True
        ch.hangup_cause = cause
        current = asyncio.current_task()
        for task in ch.tasks:
            if task is not current:
                task.cancel()
        if ch.had_media or ch.is_up:
            self._emit_qos(ch)
        self._hangup_request(ch, how, cause, tech_cause)
        self.abort_playbacks(ch)
        if ch.bridge_id:
            self.leave_bridge(ch, by_hangup=True)
        was_in_stasis = ch.stasis_app is not None
        self.leave_stasis(ch)
        second_request = ch.kind == INBOUND or (ch.kind == CREATED and not ch.dialled)
        if how == BY_ARI and second_request and was_in_stasis:
            self.emit_channel(AriEvent.CHANNEL_HANGUP_REQUEST, ch, cause=cause, soft=True)
            self.notify("SoftHangupRequest", ch, cause=cause, soft=True)
        if how == BY_ARI and ch.kind == CREATED and not ch.dialled:
            tech_cause = 603 if cause == 16 else CAUSE_TO_SIP.get(cause)
        elif how == BY_ARI:
            tech_cause = None
        if self.destroy_delay > 0:
            self.clock.call_later(self.destroy_delay, self._destroy, ch, cause, tech_cause)
        else:
            self._destroy(ch, cause, tech_cause)

    def _hangup_request(self, ch: Channel, how: str, cause: int, tech_cause: int | None) -> None:
        if how in (BY_ARI, BY_TIMEOUT):
            fields: dict[str, Any] = {"cause": SOFT_HANGUP_EXPLICIT, "soft": True}
        elif how == BY_BYE:
            fields = {}
        elif how in (BY_CANCEL, BY_REJECT):
            fields = {"cause": cause, "tech_cause": tech_cause}
        else:
            return
        fields = {k: v for k, v in fields.items() if v is not None}
        self.emit_channel(AriEvent.CHANNEL_HANGUP_REQUEST, ch, **fields)
        self.notify("SoftHangupRequest" if fields.get("soft") else "HangupRequest", ch, **fields)

    def _emit_qos(self, ch: Channel) -> None:
        stats = {
            "RTPAUDIOQOS": "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;"
            "txjitter=0.000000;txcount=0;rlp=0;rtt=0.000000;"
            "rxmes=0.000000;txmes=0.000000",
            "RTPAUDIOQOSJITTER": "minrxjitter=000.000000;maxrxjitter=000.000000;"
            "avgrxjitter=000.000000;stdevrxjitter=000.000000;",
            "RTPAUDIOQOSLOSS": "  minrxlost=000.000000;  maxrxlost=000.000000;",
            "RTPAUDIOQOSRTT": "     minrtt=000.000000;     maxrtt=000.000000;",
            "RTPAUDIOQOSMES": "   minrxmes=000.000000;   maxrxmes=000.000000;",
        }
        for name, value in stats.items():
            self.set_var(ch, name, value)

    def _destroy(self, ch: Channel, cause: int, tech_cause: int | None) -> None:
        fields: dict[str, Any] = {"cause": cause, "cause_txt": cause_txt(cause)}
        if tech_cause is not None:
            fields["tech_cause"] = tech_cause
        self.emit_channel(AriEvent.CHANNEL_DESTROYED, ch, **fields)
        ch.gone = True
        ch.timeline.close_open(tl.INTERRUPTED)
        ch.timeline.add(tl.HANGUP, ended=True, cause=cause, cause_txt=cause_txt(cause))
        self.channels.pop(ch.id, None)
        self.registry.forget("channels", ch.id)
        if ch.control is not None:
            ch.control.close()
            ch.control = None
        self.notify("Hangup", ch, cause=cause)
        ch.ended.set()
        for other in list(self.channels.values()):
            if other.snoop_target == ch.id:
                self.hangup(other, BY_DIALPLAN)

    def abort_playbacks(self, ch: Channel) -> None:
        """A hangup ends the channel's running playback as failed (hook; see MediaMixin)."""

    # ------------------------------------------------------------------ bridges
    def join_bridge(self, ch: Channel, bridge: Bridge) -> None:
        """Put a channel in a bridge: ChannelEnteredBridge, BRIDGEPEER, early answer."""
        if ch.bridge_id == bridge.id:
            return
        if ch.bridge_id:
            self.leave_bridge(ch)
        ch.bridge_id = bridge.id
        bridge.channels.append(ch.id)
        self.entered_bridge.setdefault(ch.id, asyncio.Event()).set()
        self.emit(
            "ChannelEnteredBridge",
            {"bridge": bridge.to_json(), "channel": ch.to_json()},
            (ch.id,),
            (bridge.id,),
        )
        self.notify("BridgeEnter", ch, bridge=bridge)
        self._bridge_peers(bridge)
        for other_id in bridge.channels:
            if other_id != ch.id:
                other = self.channels[other_id]
                self.relate(ch, other)
                ch.timeline.add(tl.BRIDGED, peer=other.id, bridge=bridge.id)
                other.timeline.add(tl.BRIDGED, peer=ch.id, bridge=bridge.id)
        self.early_answer(bridge)

    def _bridge_peers(self, bridge: Bridge) -> None:
        if len(bridge.channels) != 2:
            return
        a, b = (self.channels[c] for c in bridge.channels)
        for me, peer in ((a, b), (b, a)):
            self.set_var(me, "BRIDGEPEER", peer.name)
            self.set_var(me, "BRIDGEPVTCALLID", peer.protocol_id)

    def early_answer(self, bridge: Bridge) -> None:
        """Two-party early bridging: an answered leg answers an unanswered bridged caller."""
        if len(bridge.channels) != 2:
            return
        a, b = (self.channels[c] for c in bridge.channels)
        for me, peer in ((a, b), (b, a)):
            if me.is_up and peer.kind == INBOUND and peer.state == ChannelState.RING:
                self.answer_now(peer)

    def answer_now(self, ch: Channel) -> None:
        """Answer a channel (SIP 200 OK): state Up and a timeline entry."""
        if ch.is_up:
            return
        ch.answered_at = self.clock.elapsed()
        for entry in ch.timeline.entries:
            if entry.kind in (tl.RINGBACK, tl.RINGING) and entry.t_end is None:
                ch.timeline.close(entry, tl.COMPLETE)
                entry.detail["ended_by"] = "answer"
        self.set_state(ch, ChannelState.UP)
        ch.timeline.add(tl.ANSWERED, ended=True)

    def leave_bridge(self, ch: Channel, by_hangup: bool = False) -> None:
        """Take a channel out of its bridge: ChannelLeftBridge."""
        bridge = self.bridges.get(ch.bridge_id or "")
        ch.bridge_id = None
        if bridge is None or ch.id not in bridge.channels:
            return
        if by_hangup:
            self.set_var(ch, "BRIDGEPEER", "")
            self.set_var(ch, "BRIDGEPVTCALLID", "")
        bridge.channels.remove(ch.id)
        self.emit(
            "ChannelLeftBridge",
            {"bridge": bridge.to_json(), "channel": ch.to_json()},
            (ch.id,),
            (bridge.id,),
        )
        self.notify("BridgeLeave", ch, bridge=bridge)
        for entry in ch.timeline.entries:
            if entry.kind == tl.BRIDGED and entry.t_end is None:
                ch.timeline.close(entry, tl.COMPLETE)
        for other_id in bridge.channels:
            other = self.channels.get(other_id)
            if other is None:
                continue
            for entry in other.timeline.entries:
                if entry.kind == tl.BRIDGED and entry.peer == ch.id and entry.t_end is None:
                    other.timeline.close(entry, tl.COMPLETE)

    def destroy_bridge(self, bridge: Bridge) -> None:
        """DELETE /bridges/{id}: channels leave, BridgeDestroyed to subscribed apps."""
        for cid in list(bridge.channels):
            ch = self.channels.get(cid)
            if ch is not None:
                self.leave_bridge(ch)
        self.emit("BridgeDestroyed", {"bridge": bridge.to_json()}, (), (bridge.id,))
        self.notify("BridgeDestroy", None, bridge=bridge)
        self.bridges.pop(bridge.id, None)
        self.registry.forget("bridges", bridge.id)
