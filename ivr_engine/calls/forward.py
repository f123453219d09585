"""Forwarding a call: coloring to the caller, ringing the targets, whisper, bridge, talk.

Follows protocol facts A.4 / A.5: the caller (A) hears the coloring as early media while the
target legs (B) ring; a B leg is originated into the app and enters Stasis only once it
answers; the whisper is played to B alone; then the coloring is stopped *first*, A is
answered and A and B are bridged. Target outcomes are keyed on hangup causes
(ChannelHangupRequest / ChannelDestroyed), never on Dial events.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ivr_engine.asterisk.ari.errors import AriBadRequest, AriError
from ivr_engine.asterisk.ari.events import PlaybackFinished
from ivr_engine.calls.coloring import ColoringLoop
from ivr_engine.calls.flag import never
from ivr_engine.calls.handover import bridge_name, leg_variables
from ivr_engine.calls.legs import CallerGone, ChannelGone, LegWatch, hung_up_meanwhile, race
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.dialing import Attempt, TargetResult, classify_cause, final_cause
from ivr_engine.domain.model import ForwardTarget, Strategy
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.planner import DialStep

if TYPE_CHECKING:
    from ivr_engine.calls.session import CallSession

log = logging.getLogger(__name__)


@dataclass
class TargetLeg:
    """One outbound leg ringing a forward target."""

    target: ForwardTarget
    channel_id: str
    watch: LegWatch
    started: datetime
    result: TargetResult | None = None


class Forwarder:
    """Runs one DialStep for a session's caller channel."""

    def __init__(self, session: CallSession, step: DialStep) -> None:
        self.session = session
        self.env = session.env
        self.step = step
        self.caller = session.watch
        self.legs: dict[str, TargetLeg] = {}
        self.bridge_id: str | None = None
        self.keep_bridge = False  # the engine is stopping mid-conversation: leave it up
        self._ids = itertools.count(1)

    async def run(self) -> None:
        """Ring the targets per the strategy; bridge the first that answers and stays."""
        media = self.env.media.for_prompt(self.step.coloring) if self.step.coloring else None
        coloring = ColoringLoop(
            self.env,
            self.session.channel_id,
            media,
            self.caller.gone,
            answered=self.session.answered,
        )
        try:
            await coloring.start()
            self.session.note(
                "coloring", "coloring " + (media or "none: ringing indication"), media=media
            )
            winner = await self._ring_all()
            if winner is None:
                await coloring.stop()
                await self._all_failed()
                return
            if await self._join(winner, coloring):
                await self._talk(winner)
        except CallerGone:
            coloring.cancel()
            await self._end_legs("normal", TargetResult.CANCELLED)
            raise
        except asyncio.CancelledError:
            # Stopping: a conversation stays bridged for the engine that adopts it; a call
            # still ringing is handed back, so its legs and its coloring end now.
            self.keep_bridge = self.session.talking
            if not self.keep_bridge:
                await asyncio.shield(self._stop_ringing(coloring))
            raise
        except Exception:
            # An error the session handles (it logs it and ends the call): no leg and no
            # coloring outlives it.
            await self._stop_ringing(coloring)
            raise
        finally:
            await coloring.aclose()
            await self._cleanup()

    async def _stop_ringing(self, coloring: ColoringLoop) -> None:
        """End every leg and the coloring (before the caller is handed back)."""
        await self._end_legs("normal", TargetResult.CANCELLED)
        await coloring.stop()

    async def _ring_all(self) -> TargetLeg | None:
        """Ring target groups in turn (one group per target, or all at once)."""
        if self.step.strategy is Strategy.SIMULTANEOUS:
            groups: list[tuple[ForwardTarget, ...]] = [self.step.targets]
        else:
            groups = [(t,) for t in self.step.targets]
        for group in groups:
            winner = await self._ring_group(group)
            if winner is not None:
                return winner
        return None

    async def _originate(self, target: ForwardTarget) -> TargetLeg | None:
        """Start one leg; a refused originate is a failed attempt."""
        if self.caller.gone.is_set():  # no phone rings for a caller already gone
            raise CallerGone(self.caller.channel_id)
        leg_id = f"{self.session.channel_id}-t{next(self._ids)}"
        watch = LegWatch(leg_id, self.env.events).start()  # subscribe before acting
        leg = TargetLeg(target, leg_id, watch, self.session.now())
        try:
            channel = await self.env.ari.originate(
                f"PJSIP/{target.number}@{self.env.trunk}",
                app=self.env.app,
                app_args=("outbound", self.session.channel_id),
                caller_id=self.step.caller_id,
                dial_timeout=target.ring_seconds,
                channel_id=leg_id,
                originator=self.session.channel_id,
                # What an engine adopting the conversation needs (calls/handover.py).
                variables=leg_variables(self.session.trace, target.number, leg_id, leg.started),
            )
        except AriError as exc:
            watch.close()
            if isinstance(exc, AriBadRequest):  # 400 "Provided originator channel was not
                await hung_up_meanwhile(exc, self.caller)  # found": the caller hung up
            log.warning(
                "call %s: ringing %s failed: %s", self.session.channel_id, mask(target.number), exc
            )
            self._record(leg, TargetResult.FAILED, None)
            return None
        watch.name = watch.name or channel.name
        if self.session.trace.answered_target is None:  # Asterisk's dstchannel: last dialled
            self.session.trace.dst_channel = watch.name
        self.legs[leg_id] = leg
        self.session.legs[leg_id] = watch
        self.session.trace.ring_started = self.session.trace.ring_started or leg.started
        self.session.note(
            "ring",
            f"ringing {mask(target.number)} for {target.ring_seconds}s",
            target=target.number,
            leg=leg_id,
        )
        return leg

    async def _ring_group(self, group: tuple[ForwardTarget, ...]) -> TargetLeg | None:
        """Ring a group of targets; the first to answer wins, the others are hung up."""
        legs = [leg for t in group if (leg := await self._originate(t)) is not None]
        if not legs:
            return None
        limit = max(t.ring_seconds for t in group) + self.env.ring_margin
        winner = await self._first_answer(legs, limit)
        for leg in legs:
            if leg is winner or leg.result is not None:
                continue
            if leg.watch.gone.is_set():
                self._record(leg, classify_cause(leg.watch.cause), leg.watch.cause)
            elif winner is not None:
                await self._hangup_leg(leg, "answered_elsewhere", TargetResult.CANCELLED)
            else:
                await self._hangup_leg(leg, "no_answer", TargetResult.NO_ANSWER)
        return winner

    async def _first_answer(self, legs: list[TargetLeg], limit: float) -> TargetLeg | None:
        """Wait until a leg answers (returned), all are gone (None) or the limit passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            answered = [
                leg for leg in legs if leg.watch.answered.is_set() and not leg.watch.gone.is_set()
            ]
            if answered:
                return answered[0]
            alive = [leg for leg in legs if not leg.watch.gone.is_set()]
            if not alive:
                return None
            waits = [asyncio.ensure_future(leg.watch.answered.wait()) for leg in alive]
            waits += [asyncio.ensure_future(leg.watch.gone.wait()) for leg in alive]
            try:
                await race(
                    asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED),
                    self.caller,
                    timeout=max(0.0, deadline - loop.time()),
                )
            except TimeoutError:
                log.warning("targets still ringing past their ring time; ending them")
                return None
            finally:
                for fut in waits:
                    fut.cancel()

    async def _join(self, leg: TargetLeg, coloring: ColoringLoop) -> bool:
        """Whisper to the callee (the caller still hears the coloring), stop the coloring,
        connect the two. False when the callee hung up meanwhile: the caller is released."""
        stage = "during the whisper"
        try:
            await self._whisper(leg)
            stage = "while connecting"
            await coloring.stop()
            await self._connect(leg)
        except ChannelGone as exc:
            if isinstance(exc, CallerGone):
                raise
            await self._callee_left(leg, coloring, f"the callee hung up {stage}")
            return False
        return True

    async def _whisper(self, leg: TargetLeg) -> None:
        """Play the whisper to the callee alone, to its end. ChannelGone when the callee
        hangs up during it (or as it ends), CallerGone when the caller does."""
        if self.step.whisper is None:
            return
        media = self.env.media.for_prompt(self.step.whisper)
        pid = f"wh-{leg.channel_id}"
        try:
            with self.env.events.expect(PlaybackFinished, channel_id=pid) as waiter:
                await race(
                    self.env.ari.play(leg.channel_id, media, playback_id=pid),
                    self.caller,
                    leg.watch,
                    timeout=self.env.request_timeout,
                )
                done = await race(
                    waiter.wait(), self.caller, leg.watch, timeout=self.env.playback_timeout
                )
        except ChannelGone:
            self.session.note(
                "whisper", "whisper to the callee: interrupted", media=media, result="interrupted"
            )
            raise
        self.session.note(
            "whisper",
            f"whisper to the callee: {done.playback.state}",
            media=media,
            result=done.playback.state,
        )
        if leg.watch.gone.is_set():  # the callee hung up as the whisper ended
            raise ChannelGone(leg.channel_id)

    async def _callee_left(self, leg: TargetLeg, coloring: ColoringLoop, why: str) -> None:
        """The callee hung up before the two were talking: the caller is released at once
        and the call is the callee's. A callee gone before the caller was answered for it
        did not take the call: the attempt reads as its hangup cause says (16: no answer)
        and the caller, never answered, is not charged."""
        cause = leg.watch.cause
        self.session.note("gone", why, leg=leg.channel_id, cause=cause)
        self._record(leg, classify_cause(cause), cause)  # unless answered already
        coloring.cancel()  # the caller's hangup ends its playback
        self.session.ended_by("callee", cause)
        await self.session.hangup_caller(Cause.NORMAL_CLEARING, why)
        await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)

    async def _connect(self, leg: TargetLeg) -> None:
        """Answer the caller (coloring already stopped) and bridge caller and callee. A
        caller answered before (by a menu, a queue) gets no second answer."""
        a = self.session.channel_id
        if leg.watch.gone.is_set():  # gone while the coloring stopped: nobody to answer for
            raise ChannelGone(leg.channel_id)
        self._record(leg, TargetResult.ANSWERED, None)  # the caller is connected to this one
        if not self.session.answered:
            await race(self.env.ari.answer(a), self.caller, timeout=self.env.request_timeout)
        self.session.mark_answered(leg.target.number)
        self.session.trace.dst_channel = leg.watch.name
        connected = self.session.now()
        bridge = await self.env.ari.create_bridge("mixing", name=bridge_name(a, connected))
        self.bridge_id = bridge.id
        # A party hanging up at this moment makes the add fail (400 / 422, or 204 without
        # that party): race() turns that into the party's hangup.
        await race(
            self.env.ari.add_channel(bridge.id, [a, leg.channel_id]),
            self.caller,
            leg.watch,
            timeout=self.env.request_timeout,
        )
        self.session.note(
            "bridge", f"caller and {mask(leg.target.number)} bridged", bridge=bridge.id
        )

    async def _talk(self, leg: TargetLeg) -> None:
        """Wait for either party to hang up (or the talk limit); then end the other."""
        limit = self.step.max_talk_seconds
        self.session.bridged()
        try:
            await race(never(), self.caller, leg.watch, timeout=limit)
        except CallerGone:
            self.session.ended_by("caller", self.caller.cause)
            await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
            return
        except ChannelGone:
            self.session.ended_by("callee", leg.watch.cause)
            await self.session.hangup_caller(Cause.NORMAL_CLEARING, "the callee hung up")
            return
        except TimeoutError:
            self.session.ended_by("engine", Cause.NORMAL_CLEARING)
            self.session.note("limit", f"maximum talk time of {limit}s reached")
        await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
        await self.session.hangup_caller(Cause.NORMAL_CLEARING, "maximum talk time")

    async def _all_failed(self) -> None:
        """No target answered: tell the caller and hang up with the fitting cause."""
        cause = final_cause(self.session.trace.attempts)
        self.session.note("failed", f"no target answered; cause {cause}", cause=cause)
        await self.session.play(self.env.media.system("cannot-be-reached"), "cannot-be-reached")
        await self.session.hangup_caller(cause, "no forward target answered")

    async def _hangup_leg(self, leg: TargetLeg, reason: str, result: TargetResult) -> None:
        """Hang up a leg still ringing and record the attempt."""
        self._record(leg, result, None)
        try:
            await self.env.ari.hangup(leg.channel_id, reason=reason, missing_ok=True)
        except AriError as exc:
            log.warning("call %s: hanging up a leg failed: %s", self.session.channel_id, exc)

    async def _end_legs(self, reason: str, result: TargetResult) -> None:
        """The caller left: every leg still up is hung up at once."""
        pending = [leg for leg in self.legs.values() if not leg.watch.gone.is_set()]
        await asyncio.gather(*(self._hangup_leg(leg, reason, result) for leg in pending))

    def _record(self, leg: TargetLeg, result: TargetResult, cause: int | None) -> None:
        """Record the attempt's outcome once."""
        if leg.result is not None:
            return
        leg.result = result
        ring = (self.session.now() - leg.started).total_seconds()
        self.session.trace.attempts.append(
            Attempt(leg.target.number, result, cause, round(ring, 3))
        )
        self.session.note(
            "attempt",
            f"{mask(leg.target.number)}: {result.value}"
            + (f" (cause {cause})" if cause is not None else ""),
            target=leg.target.number,
            result=result.value,
            cause=cause,
        )

    async def _cleanup(self) -> None:
        """Close watches and destroy the bridge."""
        for leg in self.legs.values():
            leg.watch.close()
            self.session.legs.pop(leg.channel_id, None)
        if self.bridge_id is not None and not self.keep_bridge:
            try:
                await self.env.ari.destroy_bridge(self.bridge_id, missing_ok=True)
            except AriError as exc:
                log.warning(
                    "call %s: destroying bridge %s failed: %s",
                    self.session.channel_id,
                    self.bridge_id,
                    exc,
                )
