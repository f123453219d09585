"""Carrying out an outbound call plan (click-to-call) over ARI: the member first, then the
customer, bridged, ended at the talk limit.

The member's phone rings showing the caller ID the customer will see (never the customer's
number: no trace of it stays on the member's phone). Once the member answers they hear
"connecting you", then ringing while the customer's phone rings showing the registered
caller ID. When the customer answers the two are bridged; warning tones play to the member
60 s and 10 s before the talk limit, and at the limit both are hung up (cause 16). When
either hangs up first the other is released.

Per the protocol facts (A.3, H): both legs are originated into the caller's own Stasis app
and enter it only once answered (no StasisStart for a leg that fails); outcomes are keyed on
the hangup cause, never on Dial events. Time is read from ``clock`` and waits are divided by
``time_scale`` (simulated seconds per wall second), so the limit falls on the right second
of whatever clock Asterisk runs on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import PlaybackFinished
from ivr_engine.calls.legs import ChannelGone, LegWatch, race
from ivr_engine.calls.media import PromptMedia
from ivr_engine.calls.ports import AriPort, EventPort
from ivr_engine.calls.two_party import TwoPartyCall, first_set
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.dialing import TargetResult, classify_cause
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.outbound import OutboundPlan
from ivr_engine.domain.outbound_record import OutboundFacts, OutboundOutcome

log = logging.getLogger(__name__)

RING_MARGIN = 5.0  # seconds past the ring time before a still-ringing leg is ended
REQUEST_TIMEOUT = 10.0  # wall seconds for one ARI request
WARNING_TONE = "sound:beep"
CALL_VAR = "IVR_OUTBOUND_CALL"  # set on both legs: the call's id, in Asterisk and CDRs


def customer_outcome(cause: int | None) -> OutboundOutcome:
    """The outcome of a customer leg that ended before answering, from its Q.850 cause."""
    result = classify_cause(cause)
    if result in (TargetResult.BUSY, TargetResult.REJECTED):
        return OutboundOutcome.CUSTOMER_BUSY
    if result is TargetResult.NO_ANSWER:
        return OutboundOutcome.CUSTOMER_NO_ANSWER
    return OutboundOutcome.CUSTOMER_UNREACHABLE


class OutboundCall(TwoPartyCall):
    """One outbound call's two legs and bridge (``run()`` once)."""

    def __init__(
        self,
        ari: AriPort,
        events: EventPort,
        plan: OutboundPlan,
        *,
        app: str,
        trunk: str,
        call_id: str,
        clock: Callable[[], datetime],
        time_scale: float = 1.0,
        media: PromptMedia | None = None,
        member_channel: str | None = None,
    ) -> None:
        super().__init__(ari, app, f"outbound call {call_id}")
        self.events, self.plan, self.trunk = events, plan, trunk
        self.clock, self.scale = clock, time_scale
        self.media = media or PromptMedia()
        self.id = call_id
        # ``member_channel``: the member is on the line already (the access number)
        self.on_line = member_channel
        self.member = LegWatch(member_channel or call_id, events)
        self.customer = LegWatch(f"{call_id}-c", events)
        self._started = clock()
        self._times: dict[str, datetime] = {}
        self._warned: list[int] = []

    @property
    def call_id(self) -> str:
        """The call's id: the member leg's channel id (when the engine rang the member)."""
        return self.id

    def _wall(self, seconds: float) -> float:
        return max(0.0, seconds) / self.scale

    def _facts(
        self, outcome: OutboundOutcome, cause: int | None = None, ended_by: str | None = None
    ) -> OutboundFacts:
        log.info(
            "outbound call %s of %s to %s: %s%s",
            self.call_id,
            mask(self.plan.member.mobile),
            mask(self.plan.destination),
            outcome.value,
            f" (cause {cause})" if cause is not None else "",
        )
        return OutboundFacts(
            call_id=self.call_id,
            outcome=outcome,
            started=self._started,
            ended=self.clock(),
            cause=cause,
            ended_by=ended_by,
            member_answered=self._times.get("member"),
            customer_ringing=self._times.get("ringing"),
            connected=self._times.get("connected"),
            customer_cause=self.customer.cause,
            member_channel=self.member.name,
            customer_channel=self.customer.name,
            warnings_played=tuple(self._warned),
        )

    async def run(self) -> OutboundFacts:
        """Ring the member, then the customer; bridge; talk until the end or the limit."""
        try:
            return await self._run()
        except BaseException:
            await asyncio.shield(self._release(self.member, self.customer))
            raise
        finally:
            await self._teardown(self.member, self.customer)

    async def _member_answered(self) -> OutboundFacts | None:
        """Ring the member (unless already on the line); facts when that ends the call."""
        if self.on_line is not None:
            self.member.start()
            self.member.answered.set()
            self._placed.add(self.member.channel_id)
            return None
        plan = self.plan
        member_endpoint = f"PJSIP/{plan.member.mobile}@{self.trunk}"
        if not await self._originate(self.member, member_endpoint, plan.member_caller_id, None):
            return self._facts(OutboundOutcome.FAILED)
        if not await self._answered(self.member):
            if self.member.answered.is_set():
                return self._facts(OutboundOutcome.CANCELLED, self.member.cause, "member")
            cause = self.member.cause
            no_answer = classify_cause(cause) is TargetResult.NO_ANSWER
            outcome = OutboundOutcome.MEMBER_NO_ANSWER if no_answer else OutboundOutcome.MEMBER_BUSY
            return self._facts(outcome, cause)
        return None

    async def _run(self) -> OutboundFacts:
        plan = self.plan
        ended = await self._member_answered()
        if ended is not None:
            return ended
        self._times["member"] = self.clock()
        try:
            await self._connecting()
        except ChannelGone:
            return self._facts(OutboundOutcome.CANCELLED, self.member.cause, "member")
        await self._ringback(start=True)
        customer_endpoint = f"PJSIP/{plan.destination}@{self.trunk}"
        self._times["ringing"] = self.clock()
        if not await self._originate(
            self.customer, customer_endpoint, plan.caller_id, self.member.channel_id
        ):
            if self.member.gone.is_set():  # the originator was gone: the member hung up
                return self._facts(OutboundOutcome.CANCELLED, self.member.cause, "member")
            await self._release(self.member)
            return self._facts(OutboundOutcome.CUSTOMER_UNREACHABLE)
        try:
            answered = await self._answered(self.customer, while_up=self.member)
        except ChannelGone:
            await self._release(self.customer)
            return self._facts(OutboundOutcome.CANCELLED, self.member.cause, "member")
        if not answered:
            await self._release(self.member)
            return self._facts(customer_outcome(self.customer.cause), self.customer.cause)
        return await self._connect_and_talk()

    async def _originate(
        self, leg: LegWatch, endpoint: str, caller_id: str, originator: str | None
    ) -> bool:
        """Start ringing one party; False when Asterisk refuses the call."""
        role = "member" if leg is self.member else "customer"
        return await self._place(
            leg,
            endpoint,
            role=role,
            shown=mask(endpoint.rsplit("/", 1)[-1].split("@", 1)[0]),
            caller_id=caller_id,
            dial_timeout=self.plan.ring_seconds,
            app_args=("outbound", role, self.call_id),
            variables={CALL_VAR: self.call_id},
            originator=originator,
        )

    async def _answered(self, leg: LegWatch, *, while_up: LegWatch | None = None) -> bool:
        """Wait until the leg answers (True) or ends (False); a leg ringing past its ring
        time is hung up. ChannelGone when ``while_up`` ends first."""
        return await self._await_answer(
            leg, self._wall(self.plan.ring_seconds + RING_MARGIN), while_up=while_up
        )

    async def _connecting(self) -> None:
        """Play "connecting you" to the member and wait for its end (ChannelGone if the
        member hangs up meanwhile)."""
        pid = f"pb-{self.call_id}-connecting"
        media = self.media.system(self.plan.connecting_prompt)
        with self.events.expect(PlaybackFinished, channel_id=pid) as waiter:
            try:
                await self.ari.play(self.member.channel_id, media, playback_id=pid)
            except AriError as exc:
                log.warning("outbound call %s: connecting prompt: %s", self.call_id, exc)
                return
            await race(waiter.wait(), self.member, timeout=REQUEST_TIMEOUT * 6)

    async def _connect_and_talk(self) -> OutboundFacts:
        """Bridge member and customer, then wait for a hangup or the talk limit."""
        await self._ringback(start=False)
        try:
            bridge = await self.ari.create_bridge("mixing", name=f"outbound-{self.call_id}")
            self.bridge_id = bridge.id
            await race(
                self.ari.add_channel(bridge.id, [self.member.channel_id, self.customer.channel_id]),
                self.member,
                self.customer,
                timeout=REQUEST_TIMEOUT,
            )
        except (ChannelGone, AriError, TimeoutError) as exc:
            await self._release(self.member, self.customer)
            if isinstance(exc, ChannelGone):
                return self._facts(OutboundOutcome.CANCELLED, self.member.cause, "member")
            log.warning("outbound call %s: bridging failed: %s", self.call_id, exc)
            return self._facts(OutboundOutcome.FAILED)
        self._times["connected"] = connected = self.clock()
        ended_by = await self._talk(connected)
        if ended_by == "limit":
            await self._release(self.member, self.customer)
            return self._facts(OutboundOutcome.COMPLETED, int(Cause.NORMAL_CLEARING), "limit")
        gone, other = (
            (self.member, self.customer) if ended_by == "member" else (self.customer, self.member)
        )
        await self._release(other)
        return self._facts(OutboundOutcome.COMPLETED, gone.cause, ended_by)

    async def _talk(self, connected: datetime) -> str:
        """Wait until a party hangs up (its role) or the talk limit passes ("limit"),
        playing the warning tones to the member on the way."""
        limit = self.plan.talk_limit
        if limit is None:
            await first_set([self.member.gone, self.customer.gone], None)
            return "member" if self.member.gone.is_set() else "customer"
        end = connected + timedelta(seconds=limit)
        for before in self.plan.warnings:
            if not await self._until(end - timedelta(seconds=before)):
                return "member" if self.member.gone.is_set() else "customer"
            await self._warn(before)
        if not await self._until(end):
            return "member" if self.member.gone.is_set() else "customer"
        return "limit"

    async def _until(self, when: datetime) -> bool:
        """Wait until ``when`` on the clock; False when a party hung up first."""
        while True:
            left = (when - self.clock()).total_seconds()
            if left <= 0:
                return True
            try:
                await first_set([self.member.gone, self.customer.gone], self._wall(left))
                return False
            except TimeoutError:
                continue

    async def _warn(self, before: int) -> None:
        """A warning tone to the member, ``before`` seconds ahead of the limit."""
        self._warned.append(before)
        try:
            await self.ari.play(
                self.member.channel_id, WARNING_TONE, playback_id=f"pb-{self.call_id}-w{before}"
            )
        except AriError as exc:  # the member hanging up now shows in its events
            log.debug("outbound call %s: warning tone: %s", self.call_id, exc)

    async def _ringback(self, *, start: bool) -> None:
        """Let the answered member hear ringing while the customer's phone rings."""
        await self._ring_to(self.member, start=start)
