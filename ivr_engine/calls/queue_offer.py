"""Offering a queue call to claimed agents: ring them, bridge the first to answer, talk.

Agent legs are originated into the app with a client-chosen channel id (watched before the
request is sent) and the agent's ring time; the leg enters Stasis only once answered. An
offer that ends without an answer is a miss (busy, no answer, unreachable ...) counted
towards the agent's auto-pause; offers ended because the caller left or another agent
answered first are cancelled and not counted. Outcomes are keyed on hangup causes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.calls.flag import never
from ivr_engine.calls.legs import CallerGone, ChannelGone, LegWatch, race
from ivr_engine.domain.acd import CallOutcome
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.dialing import TargetResult, classify_cause
from ivr_engine.domain.queue_log import QueueEvent, seconds
from ivr_engine.domain.queue_state import ClaimedAgent

if TYPE_CHECKING:
    from ivr_engine.calls.queue import QueueCall

log = logging.getLogger(__name__)

# After a failed bridge request, how long (wall seconds) the hangup events that tell which
# side left may lag behind the error reply.
GONE_GRACE = 2.0

_RESULT = {
    TargetResult.NO_ANSWER: "missed",
    TargetResult.BUSY: "busy",
    TargetResult.UNREACHABLE: "unreachable",
    TargetResult.REJECTED: "rejected",
    TargetResult.CANCELLED: "cancelled",
    TargetResult.FAILED: "failed",
}


@dataclass
class AgentLeg:
    """One agent being rung."""

    agent: ClaimedAgent
    channel_id: str
    watch: LegWatch
    started: datetime
    done: bool = False


class AgentOffer:
    """Rings the agents claimed for one queue call."""

    def __init__(self, call: QueueCall, claimed: list[ClaimedAgent]) -> None:
        self.call = call
        self.s = call.s
        self.env = call.env
        self.claimed = claimed
        self.legs: list[AgentLeg] = []

    def endpoint(self, agent: ClaimedAgent) -> str:
        """The dial string: a SIP endpoint as is, an outside number through the trunk."""
        if agent.endpoint.upper().startswith("PJSIP/"):
            return agent.endpoint
        return f"PJSIP/{agent.endpoint}@{self.env.trunk}"

    async def run(self) -> bool:
        """Ring; True when an agent answered and the call was served."""
        for agent in self.claimed:
            await self._originate(agent)
        if not self.legs:
            return False
        ring = max(a.ring_seconds or self.call.q.ring_seconds for a in self.claimed)
        limit = self.call.rt.wall(ring) + self.env.ring_margin
        try:
            winner = await self._first_answer(limit)
        except CallerGone:
            await asyncio.gather(
                *(self._settle(leg, "cancelled", hang_up=True) for leg in self.legs)
            )
            raise
        for leg in self.legs:
            if leg is winner or leg.done:
                continue
            if leg.watch.gone.is_set():
                await self._settle(leg, _RESULT[classify_cause(leg.watch.cause)])
            else:
                await self._settle(leg, "cancelled" if winner else "missed", hang_up=True)
        if winner is None:
            return False
        await self._serve(winner)
        return True

    async def _originate(self, agent: ClaimedAgent) -> None:
        """Start one agent leg; a refused originate is a failed offer."""
        self.call.legs_made += 1
        leg_id = f"{self.s.channel_id}-q{self.call.legs_made}"
        watch = LegWatch(leg_id, self.env.events).start()
        leg = AgentLeg(agent, leg_id, watch, self.s.now())
        ring = agent.ring_seconds or self.call.q.ring_seconds
        try:
            await self.env.ari.originate(
                self.endpoint(agent),
                app=self.env.app,
                app_args=("outbound", self.s.channel_id),
                caller_id=self.s.trace.caller or None,
                dial_timeout=ring,
                channel_id=leg_id,
                originator=self.s.channel_id,
            )
        except AriError as exc:
            log.warning("call %s: ringing agent %s failed: %s", self.s.channel_id, agent.id, exc)
            await self._settle(leg, "failed")
            watch.close()
            return
        self.legs.append(leg)
        self.s.note(
            "ring", f"offering the call to agent {agent.id} for {ring}s", agent=agent.id, leg=leg_id
        )

    async def _first_answer(self, limit: float) -> AgentLeg | None:
        """The first leg to answer, or None when all are gone or the limit passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            alive = [leg for leg in self.legs if not leg.watch.gone.is_set()]
            answered = [leg for leg in alive if leg.watch.answered.is_set()]
            if answered:
                return answered[0]
            if not alive:
                return None
            waits = [
                asyncio.ensure_future(ev.wait())
                for leg in alive
                for ev in (leg.watch.answered, leg.watch.gone)
            ]
            try:
                await race(
                    asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED),
                    self.s.watch,
                    timeout=max(0.0, deadline - loop.time()),
                )
            except TimeoutError:
                return None
            finally:
                for fut in waits:
                    fut.cancel()

    async def _settle(self, leg: AgentLeg, result: str, *, hang_up: bool = False) -> None:
        """Record an offer that did not lead to a call (and end its leg)."""
        leg.done = True
        if hang_up:
            try:
                await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
            except AriError as exc:
                log.warning(
                    "call %s: hanging up agent leg %s failed: %s",
                    self.s.channel_id,
                    leg.channel_id,
                    exc,
                )
        ring = (self.s.now() - leg.started).total_seconds()
        call, agent = self.call, leg.agent
        missed = partial(
            call.agents.offer_failed,
            agent,
            call_id=self.s.channel_id,
            result=result,
            ring_seconds=ring,
            auto_pause_after=call.q.auto_pause_after,
            now=self.s.now(),
        )
        paused = await call.rt.record(f"recording agent {agent.id}'s offer", missed) is True
        if result != "cancelled":
            self.s.note("attempt", f"agent {agent.id}: {result}", agent=agent.id, result=result)
            await call.write(call.log_event(QueueEvent.RINGNOANSWER, agent.id, int(ring * 1000)))
        if paused:
            self.s.note("auto-pause", f"agent {agent.id} paused after missed calls", agent=agent.id)
            await call.write(call.log_event(QueueEvent.PAUSE, agent.id, "auto-pause"))
        elif result == "cancelled":
            call.rt.notify()

    async def _serve(self, leg: AgentLeg) -> None:
        """Bridge the caller with the agent who answered, let them talk, wrap up."""
        call, s, agent = self.call, self.s, leg.agent
        ring = (s.now() - leg.started).total_seconds()
        hold = call.waited()
        answered = partial(
            call.agents.call_answered, agent, call_id=s.channel_id, ring_seconds=ring, now=s.now()
        )
        await call.rt.record(f"recording agent {agent.id}'s answer", answered)
        call.answered_row = call.row_id
        s.trace.answered_target = agent.endpoint
        s.trace.dst_channel = leg.watch.name
        await call.record_exit(
            CallOutcome.ANSWERED,
            QueueEvent.CONNECT,
            seconds(hold),
            leg.channel_id,
            seconds(ring),
            agent=agent.id,
        )
        await call.close_holding()
        bridge = await self.env.ari.create_bridge("mixing", name=f"queue-{s.channel_id}")
        answered_at = s.now()
        by_agent = False  # also when the session is cancelled mid-call
        try:
            await race(
                self.env.ari.add_channel(bridge.id, [s.channel_id, leg.channel_id]),
                s.watch,
                leg.watch,
                timeout=self.env.request_timeout,
            )
            s.note(
                "bridge", f"caller and agent {agent.id} bridged", bridge=bridge.id, agent=agent.id
            )
            by_agent = await self._talk(leg)
        except CallerGone:
            s.ended_by("caller", s.watch.cause)
            await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
        except ChannelGone:
            by_agent = True
            await s.hangup_caller(Cause.NORMAL_CLEARING, "the agent left")
        except (AriError, TimeoutError) as exc:
            by_agent = await self._bridge_failed(leg, exc)
        finally:
            leg.watch.close()
            talk = (s.now() - answered_at).total_seconds()
            await call.agent_done(agent.id, by_agent=by_agent, talk=talk, hold=hold)
            try:
                await self.env.ari.destroy_bridge(bridge.id, missing_ok=True)
            except AriError as exc:
                log.warning(
                    "call %s: destroying bridge %s failed: %s", s.channel_id, bridge.id, exc
                )

    async def _bridge_failed(self, leg: AgentLeg, exc: Exception) -> bool:
        """Joining the two failed: a side hung up while the request was under way (Asterisk
        then answers 500, or 422 once the channel has left the app) or the request timed
        out. Both sides are ended; True when the agent was the one who left."""
        s = self.s
        log.warning(
            "bridging call %s with agent leg %s failed: %s", s.channel_id, leg.channel_id, exc
        )
        try:  # the hangup events may arrive just after the error reply
            await race(never(), s.watch, leg.watch, timeout=GONE_GRACE)
        except CallerGone:
            s.ended_by("caller", s.watch.cause)
            await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
            return False
        except ChannelGone:
            s.ended_by("callee", leg.watch.cause)
            await s.hangup_caller(Cause.NORMAL_CLEARING, "the agent left")
            return True
        except TimeoutError:
            pass
        await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
        await s.hangup_caller(Cause.NORMAL_CLEARING, "the call could not be bridged")
        return False

    async def _talk(self, leg: AgentLeg) -> bool:
        """Until either side hangs up; True when the agent ended the call."""
        s = self.s
        try:
            await race(never(), s.watch, leg.watch)
        except CallerGone:
            s.ended_by("caller", s.watch.cause)
            await self.env.ari.hangup(leg.channel_id, reason="normal", missing_ok=True)
            return False
        except ChannelGone:
            s.ended_by("callee", leg.watch.cause)
            await s.hangup_caller(Cause.NORMAL_CLEARING, "the agent hung up")
            return True
        return False
