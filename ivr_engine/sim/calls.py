"""Calls through the simulated carrier trunk: inbound callers, dialled legs, originate, dialplan.

Outbound legs follow section H: a ``/channels/create`` leg replies 200 before it is in the app
(StasisStart a moment later), reports failures as ChannelHangupRequest + ChannelDestroyed
causes (no BUSY Dial event); an originated leg enters Stasis only when answered and does get a
Dial BUSY. Inbound calls run a small dialplan: ``Stasis(app,args)``, then, when no client has
the app registered, the fallback: AstDB ``ivr-fallback/<DID>`` names a target to Dial(), else
Hangup() (the caller gets 603 Decline).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, Any

from ivr_engine.asterisk.constants import AriEvent, ChannelState, ChannelVar, StasisStatus
from ivr_engine.sim import timeline as tl
from ivr_engine.sim.behaviour import ANSWER, NO_ANSWER, Behaviour
from ivr_engine.sim.core import (
    BY_BYE,
    BY_CANCEL,
    BY_DIALPLAN,
    BY_ORIGINATE_TIMEOUT,
    BY_REJECT,
    BY_TIMEOUT,
)
from ivr_engine.sim.model import CREATED, DIALPLAN, INBOUND, ORIGINATED, Channel

if TYPE_CHECKING:
    from ivr_engine.sim.media import MediaMixin

    _Base = MediaMixin
else:
    _Base = object

FALLBACK_FAMILY = "ivr-fallback"
DTMF_MS = 100
RING_DELAY = 0.002  # 100 Trying -> 180 Ringing


class EndpointError(Exception):
    """An endpoint string the simulated Asterisk cannot dial (status + ARI message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CallsMixin(_Base):
    """Call scenarios of the simulated world."""

    behaviours: dict[str, Behaviour]
    default_behaviour: Behaviour

    def behaviour_for(self, number: str) -> Behaviour:
        """The scripted behaviour of a dialled number (default: answers after 1 s)."""
        return self.behaviours.get(number, self.default_behaviour)

    def parse_endpoint(self, endpoint: str) -> tuple[str, str, str]:
        """Split ``PJSIP/<number>@<trunk>`` into (tech, dial resource, number)."""
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise EndpointError(400, "Invalid endpoint specified")
        number, _, trunk = resource.partition("@")
        if tech.upper() != "PJSIP" or (trunk and trunk != self.trunk) or not number:
            raise EndpointError(500, "Allocation failed")
        return tech, resource, number

    def _leg(self, kind: str, endpoint: str, channel_id: str | None) -> Channel:
        tech, resource, number = self.parse_endpoint(endpoint)
        trunk = resource.partition("@")[2] or number
        ch = self.new_channel(
            kind,
            f"{tech}/{trunk}",
            channel_id=channel_id,
            context=self.inbound_context,
            exten="s",
            priority=1,
        )
        ch.dialstring = resource
        ch.endpoint_resource = number
        ch.behaviour = self.behaviour_for(number)
        return ch

    # ------------------------------------------------------------------ ARI-made legs
    def create_leg(
        self,
        endpoint: str,
        app: str,
        app_args: list[str],
        *,
        channel_id: str | None = None,
        originator: Channel | None = None,
        variables: dict[str, str] | None = None,
    ) -> Channel:
        """POST /channels/create: a Down leg that enters Stasis just after the reply."""
        ch = self._leg(CREATED, endpoint, channel_id)
        ch.variables.update(variables or {})
        ch.app_name, ch.app_data = "Stasis", ",".join([app, *app_args])
        self.registry.subscribe(app, "channels", ch.id)
        if originator is not None:
            self.registry.subscribe(app, "channels", originator.id)
            ch.language = originator.language
            self.relate(originator, ch)
        ch.entering_stasis = True
        self.clock.call_later(self.stasis_start_delay, self._created_enters, ch, app, app_args)
        return ch

    def _created_enters(self, ch: Channel, app: str, args: list[str]) -> None:
        if ch.gone:
            return
        self.emit_channel(
            AriEvent.CHANNEL_DIALPLAN, ch, dialplan_app="Stasis", dialplan_app_data=ch.app_data
        )
        if not self.registry.is_active(app):
            ch.variables[ChannelVar.STASISSTATUS] = StasisStatus.FAILED
            ch.timeline.add(tl.STASIS_FAILED, app, ended=True)
            self.hangup(ch, BY_DIALPLAN, 16)
            return
        self.enter_stasis(ch, app, args)

    def originate(
        self,
        endpoint: str,
        *,
        app: str = "",
        app_args: list[str] | None = None,
        extension: str = "",
        context: str = "",
        priority: int = 1,
        caller_id: str = "",
        timeout: float | None = 30.0,
        channel_id: str | None = None,
        originator: Channel | None = None,
        variables: dict[str, str] | None = None,
    ) -> Channel:
        """POST /channels: dial now; the leg enters Stasis (or the dialplan) once answered."""
        ch = self._leg(ORIGINATED, endpoint, channel_id)
        ch.variables.update(variables or {})
        name, number = _parse_callerid(caller_id)
        ch.caller_name = ch.connected_name = name
        ch.caller_number = ch.connected_number = number
        if caller_id:  # ari_channels_handle_originate_with_id sets the connected line
            self.notify("NewConnectedLine", ch)
        if app:
            self.registry.subscribe(app, "channels", ch.id)
            ch.pending["stasis"] = (app, list(app_args or []))
        else:
            ch.pending["dialplan"] = (context or "default", extension, priority)
        if originator is not None:
            ch.language = originator.language
        self.start_dial(ch, None, timeout, originate=True)
        return ch

    def start_dial(
        self, ch: Channel, caller: Channel | None, timeout: float | None, originate: bool = False
    ) -> None:
        """Send the INVITE: Dial events, ringing, then the far end's scripted answer."""
        ch.dialled = True
        if caller is not None:
            ch.connected_name, ch.connected_number = caller.caller_name, caller.caller_number
            ch.language = caller.language
            self.relate(caller, ch)
            self.emit_channel(AriEvent.CHANNEL_CONNECTED_LINE, ch)
        self.spawn(ch, self._outbound(ch, timeout, originate))

    def dial_event(self, ch: Channel, status: str, dialstring: str) -> None:
        """A Dial event about a leg (no ``caller`` key, as observed)."""
        self.emit(
            "Dial",
            {"dialstatus": status, "forward": "", "dialstring": dialstring, "peer": ch.to_json()},
            (ch.id,),
        )
        if status:
            final = status not in ("RINGING", "PROGRESS", "PROCEEDING")
            self.notify("DialEnd" if final else "DialState", ch, status=status)

    async def _outbound(
        self,
        ch: Channel,
        timeout: float | None,  # noqa: ASYNC109
        originate: bool,
    ) -> None:
        dialstring = ch.dialstring or ""
        self.dial_event(ch, "", dialstring)
        self.notify("DialBegin", ch)
        try:
            await self.clock.wait_for(self._far_end(ch, originate), timeout)
        except TimeoutError:
            if originate:
                self.hangup(ch, BY_ORIGINATE_TIMEOUT, 19, 480)
            else:
                self.hangup(ch, BY_TIMEOUT, 19, 480)
            return
        if ch.is_up and not ch.gone:
            self.far_end_script(ch, ch.behaviour or self.default_behaviour)
            self._after_answer(ch)

    async def _far_end(self, ch: Channel, originate: bool) -> None:
        b = ch.behaviour or self.default_behaviour
        later = ch.dialstring or "" if originate else ""
        if b.rings:
            await self.clock.sleep(RING_DELAY)
            self.set_state(ch, ChannelState.RINGING)
            ch.timeline.add(tl.RINGING, ch.dialstring or "")
            self.dial_event(ch, "RINGING", later)
            self._ringing_reaches_caller(ch)
        if b.kind == NO_ANSWER:
            await asyncio.Event().wait()
        await self.clock.sleep(b.ring)
        if b.kind == ANSWER:
            self.answer_now(ch)
            self.dial_event(ch, "ANSWER", later)
            return
        if originate:
            ch.hanging_up = True
            self._hangup_request(ch, BY_REJECT, b.cause, b.sip)
            status = {17: "BUSY", 34: "CONGESTION"}.get(b.cause)
            if status:
                self.dial_event(ch, status, later)
            self._destroy(ch, b.cause, b.sip)
        else:
            self.hangup(ch, BY_REJECT, b.cause, b.sip)

    def _ringing_reaches_caller(self, ch: Channel) -> None:
        bridge = self.bridges.get(ch.bridge_id or "")
        if bridge is None or len(bridge.channels) != 2:
            return
        for cid in bridge.channels:
            peer = self.channels.get(cid)
            if peer is not None and peer is not ch and not peer.is_up:
                self.start_indication(peer, tl.RINGBACK, f"180 from {ch.name}")

    def _after_answer(self, ch: Channel) -> None:
        bridge = self.bridges.get(ch.bridge_id or "")
        if bridge is not None:
            self.early_answer(bridge)
        stasis = ch.pending.pop("stasis", None)
        if stasis is not None:
            app, args = stasis
            if self.registry.is_active(app):
                self.enter_stasis(ch, app, args)
            else:
                self.hangup(ch, BY_DIALPLAN, 16)

    def far_end_script(self, ch: Channel, b: Behaviour) -> None:
        """After answer: the party's DTMF at its moments and its hangup after ``talk``."""
        for at, digits in b.dtmf:
            self.spawn(ch, self._send_digits(ch, at, digits))
        if b.talk is not None:
            self.spawn(ch, self._talk_then_hangup(ch, b.talk))

    async def _send_digits(self, ch: Channel, at: float, digits: str) -> None:
        await self.clock.sleep(at)
        for digit in digits:
            await self.clock.sleep(DTMF_MS / 1000.0)
            self.far_end_dtmf(ch, digit, DTMF_MS)
            await self.clock.sleep(DTMF_MS / 1000.0)

    async def _talk_then_hangup(self, ch: Channel, talk: float) -> None:
        await self.clock.sleep(talk)
        self.hangup(ch, BY_BYE, 16)

    # ------------------------------------------------------------------ inbound
    def inbound_call(
        self, to: str, caller: str, app: str, args: list[str], caller_name: str = ""
    ) -> Channel:
        """A SIP INVITE from the trunk into the inbound context (state Ring)."""
        ch = self.new_channel(
            INBOUND,
            f"PJSIP/{self.trunk}",
            state=ChannelState.RING,
            caller_number=caller,
            caller_name=caller_name,
            context=self.inbound_context,
            exten=to,
            priority=1,
        )
        ch.timeline.add(tl.DIAL, f"INVITE {to}", ended=True, caller=caller)
        self.spawn(ch, self.run_dialplan(ch, 2, app, args))
        return ch

    async def run_dialplan(
        self, ch: Channel, priority: int, app: str = "", args: list[str] | None = None
    ) -> None:
        """The inbound context: 2 Stasis(app,args); 3 fallback Dial from AstDB, else Hangup()."""
        await asyncio.sleep(0)
        if ch.context != self.inbound_context:
            self.hangup(ch, BY_DIALPLAN, 16)
            return
        if priority <= 2:
            ch.priority = 2
            ch.app_name, ch.app_data = "Stasis", ",".join([app, *(args or [])])
            if self.registry.is_active(app):
                self.enter_stasis(ch, app, list(args or []))
                return
            ch.variables[ChannelVar.STASISSTATUS] = StasisStatus.FAILED
            ch.timeline.add(
                tl.STASIS_FAILED, app, ended=True, message=f"Stasis app '{app}' doesn't exist"
            )
        ch.priority = 3
        await self._fallback(ch)

    async def _fallback(self, ch: Channel) -> None:
        digits = re.sub(r"\D", "", ch.exten)
        target = self.astdb.get(f"{FALLBACK_FAMILY}/{digits}")
        if not target:
            ch.app_name, ch.app_data = "Hangup", ""
            ch.timeline.add(tl.DECLINED, "603 Decline", ended=True)
            self.hangup(ch, BY_DIALPLAN, 21, 603)
            return
        ch.app_name, ch.app_data = "Dial", f"PJSIP/{target}@{self.trunk}"
        await self.dialplan_dial(ch, target)

    async def dialplan_dial(self, caller: Channel, target: str) -> None:
        """Dial(PJSIP/<target>@<trunk>) from the dialplan: ringback, answer, talk, hangup."""
        leg = self._leg(DIALPLAN, f"PJSIP/{target}@{self.trunk}", None)
        leg.caller_number, leg.caller_name = caller.caller_number, caller.caller_name
        leg.dialled = True
        self.relate(caller, leg)
        caller.timeline.add(tl.DIAL, f"PJSIP/{target}@{self.trunk}", ended=True, peer=leg.id)
        b = leg.behaviour or self.default_behaviour
        self.notify("DialBegin", leg, caller=caller)
        try:
            if b.rings:
                await self.clock.sleep(RING_DELAY)
                self.set_state(leg, ChannelState.RINGING)
                self.start_indication(caller, tl.RINGBACK, "ring")
            if b.kind == NO_ANSWER:
                await asyncio.Event().wait()
            await self.clock.sleep(b.ring)
            if b.kind != ANSWER:
                self.hangup(leg, BY_DIALPLAN, b.cause, b.sip)
                self.hangup(caller, BY_DIALPLAN, b.cause, b.sip)
                return
            self.answer_now(leg)
            self.answer_now(caller)
            caller.timeline.add(tl.BRIDGED, peer=leg.id)
            leg.timeline.add(tl.BRIDGED, peer=caller.id)
            self.far_end_script(leg, b)
            await leg.ended.wait()
            self.hangup(caller, BY_DIALPLAN, 16)
        finally:
            if not leg.gone:
                with contextlib.suppress(Exception):
                    self.hangup(leg, BY_DIALPLAN, 16)

    def caller_hangs_up(self, ch: Channel) -> None:
        """The caller ends the call: BYE once answered, CANCEL before."""
        if ch.gone or ch.hanging_up:
            return
        if ch.is_up:
            self.hangup(ch, BY_BYE, 16)
        else:
            self.hangup(ch, BY_CANCEL, 127, 487)

    def continue_in_dialplan(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        """POST /continue: leave Stasis and run the dialplan from the given place."""
        self.leave_stasis(ch)
        if ch.kind == CREATED or ch.kind == ORIGINATED:
            self.hangup(ch, BY_DIALPLAN, 16)
            return
        ch.context, ch.exten, ch.priority = context, exten, priority
        self.spawn(ch, self.run_dialplan(ch, priority))

    def info(self) -> dict[str, Any]:
        """Counts for diagnostics."""
        return {"channels": len(self.channels), "bridges": len(self.bridges)}


def _parse_callerid(text: str) -> tuple[str, str]:
    """``"Name" <number>`` or ``number`` -> (name, number)."""
    match = re.match(r'\s*"?([^"<]*)"?\s*<([^>]*)>', text or "")
    if match:
        return match.group(1).strip(), match.group(2).strip()
    return "", (text or "").strip()
