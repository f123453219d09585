"""Calls found in the app after the engine (re)connects: adopt them or finish them cleanly.

After a restart or a dropped WebSocket no StasisStart is sent again for channels already in
the app, so the engine lists them (``GET /channels``, ``GET /bridges``) and decides:

* a caller bridged with a callee: adopted; the engine waits for either to hang up, then
  ends the other (the conversation is not disturbed);
* an unanswered caller: its call is started again from the plan (it hears the coloring or
  the announcement anew rather than silence);
* anything else of ours (an answered caller alone, a target leg whose call is gone): hung up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.models import Bridge, Channel
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.flag import never
from ivr_engine.calls.handover import (
    HANDOVER_VAR,
    TARGET_VAR,
    complete_from_leg,
    connected_at,
    decode,
)
from ivr_engine.calls.legs import ChannelGone, LegWatch, race
from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.numbers import try_normalize
from ivr_engine.domain.trace import CallTrace

log = logging.getLogger(__name__)

ADOPTION_TIMES = "adopted after an engine restart: answer and connect times are the adoption time"


@dataclass(frozen=True)
class TalkPair:
    """A caller and a callee found bridged together."""

    caller: str
    callee: str
    bridge: str
    caller_channel: Channel | None = None
    callee_channel: Channel | None = None
    bridge_name: str = ""


@dataclass
class AdoptPlan:
    """What to do with the channels found in the app."""

    hang_up: list[str] = field(default_factory=list)
    restart: list[Channel] = field(default_factory=list)
    talking: list[TalkPair] = field(default_factory=list)


def stasis_args(app: str, channel: Channel) -> list[str] | None:
    """The Stasis() arguments of a channel in ``app``, or None when it is not in it."""
    if channel.dialplan.app_name.lower() != "stasis":
        return None
    parts = channel.dialplan.app_data.split(",")
    if not parts or parts[0] != app:
        return None
    return parts[1:]


def classify(
    app: str, channels: Iterable[Channel], bridges: Iterable[Bridge], known: set[str]
) -> AdoptPlan:
    """Decide, for every channel of ours that no session owns, what happens to it."""
    ours = {ch.id: ch for ch in channels if stasis_args(app, ch) is not None}
    bridge_of = {cid: b for b in bridges for cid in b.channels}
    plan = AdoptPlan()
    paired: set[str] = set()
    for cid, ch in ours.items():
        args = stasis_args(app, ch) or []
        if cid in known or (args and args[0] == "outbound"):
            continue
        bridge = bridge_of.get(cid)
        partners = [c for c in (bridge.channels if bridge else ()) if c != cid and c in ours]
        if partners:
            assert bridge is not None
            pair = TalkPair(cid, partners[0], bridge.id, ch, ours[partners[0]], bridge.name)
            plan.talking.append(pair)
            paired.update((cid, partners[0]))
        elif ch.state != "Up":
            plan.restart.append(ch)
        else:
            plan.hang_up.append(cid)
    for cid, ch in ours.items():
        args = stasis_args(app, ch) or []
        owner = args[1] if len(args) > 1 else ""
        if args and args[0] == "outbound" and cid not in paired and owner not in known:
            plan.hang_up.append(cid)
    return plan


class TalkWatch:
    """Follows an adopted conversation until one side hangs up, then ends the other, and
    records the call (what happened before the adoption comes from Asterisk's snapshot)."""

    def __init__(self, env: CallEnv, pair: TalkPair) -> None:
        self.env = env
        self.pair = pair
        self.trace = adopted_trace(env, pair)

    async def run(self) -> None:
        """Wait for either party to leave; hang up the other and destroy the bridge."""
        caller = LegWatch(self.pair.caller, self.env.events).start()
        callee = LegWatch(self.pair.callee, self.env.events).start()
        try:
            # The channels may have gone while we were disconnected: check once.
            await self._ensure_alive(caller, callee)
            try:
                await race(never(), caller, callee)
            except ChannelGone as gone:
                pair = self.pair
                by_caller = gone.channel_id == pair.caller
                self.trace.hangup_by = "caller" if by_caller else "callee"
                self.trace.hangup_cause = (caller if by_caller else callee).cause or 16
                other = pair.callee if by_caller else pair.caller
                await self.env.ari.hangup(other, reason="normal", missing_ok=True)
        except AriError as exc:
            log.warning("adopted call %s: %s", self.pair.caller, exc)
        finally:
            caller.close()
            callee.close()
            try:
                await self.env.ari.destroy_bridge(self.pair.bridge, missing_ok=True)
            except AriError as exc:
                log.warning("destroying bridge %s failed: %s", self.pair.bridge, exc)
            self._record()

    async def prepare(self) -> None:
        """Read what the channels carry before the conversation is followed (once a party
        hangs up, its variables are gone): the whole trace a stopping engine left on the
        caller, else the trace the callee leg was made with, completed with the connect time
        the bridge's name carries (``calls/handover.py``)."""
        now = self.env.clock()
        handed = await self._handed_over(self.pair.caller)
        if handed is not None:
            trace = handed[0]
            trace.add(now, "adopted", "conversation adopted from a stopping engine")
        elif (handed := await self._handed_over(self.pair.callee)) is not None:
            trace, leg = handed
            connected = connected_at(self.pair.bridge_name, self.pair.caller)
            if connected is None:
                trace.reasons += (ADOPTION_TIMES,)
            complete_from_leg(trace, leg, connected or now)
            trace.add(now, "adopted", "conversation adopted after a restart or reconnect")
        else:
            await self._identify_target()
            return
        trace.node = self.env.node or trace.node
        caller, callee = self.pair.caller_channel, self.pair.callee_channel
        trace.channel_name = trace.channel_name or (caller.name if caller else "")
        trace.dst_channel = callee.name if callee else trace.dst_channel
        self.trace = trace

    async def _handed_over(self, channel_id: str) -> tuple[CallTrace, dict[str, Any]] | None:
        """The handed-over trace a channel carries, if any."""
        try:
            raw = await self.env.ari.get_variable(channel_id, HANDOVER_VAR)
        except AriError as exc:
            log.warning("adopted call %s: %s unreadable (%s)", self.pair.caller, HANDOVER_VAR, exc)
            return None
        return decode(raw)

    async def _identify_target(self) -> None:
        """Which forward target the callee leg rang (a variable set when it was made)."""
        try:
            target = await self.env.ari.get_variable(self.pair.callee, TARGET_VAR)
        except AriError:
            target = None
        if target:
            self.trace.answered_target = target
            self.trace.attempts.append(Attempt(target, TargetResult.ANSWERED))

    async def _ensure_alive(self, caller: LegWatch, callee: LegWatch) -> None:
        """Mark a watch gone when its channel no longer exists."""
        present = {ch.id for ch in await self.env.ari.list_channels()}
        for watch in (caller, callee):
            if watch.channel_id not in present:
                watch.gone.set()

    def _record(self) -> None:
        """Hand the adopted call's trace to the call-end hook (the call record)."""
        self.trace.ended_at = self.env.clock()
        self.trace.add(self.trace.ended_at, "end", "adopted call ended")
        if self.env.on_end is not None:
            try:
                self.env.on_end(self.trace)
            except Exception:
                log.exception("call-end hook failed for adopted call %s", self.pair.caller)


def adopted_trace(env: CallEnv, pair: TalkPair) -> CallTrace:
    """The trace of a call adopted while talking: started when Asterisk created the caller's
    channel; answered and bridged no later than the adoption."""
    now = env.clock()
    ch = pair.caller_channel
    # Asterisk's clock may run ahead of ours: a start after "now" would be a bad record.
    started = min(ch.creationtime, now) if ch is not None and ch.creationtime else now
    number = (try_normalize(ch.dialplan.exten) or ch.dialplan.exten) if ch else ""
    caller_raw = ch.caller.number if ch else ""
    trace = CallTrace(
        pair.caller,
        number,
        caller_raw,
        started,
        linkedid=pair.caller,
        caller=try_normalize(caller_raw) or "",
        node=env.node,
    )
    trace.state, trace.outcome = "open", "forward"
    trace.answered_at = now
    trace.reasons = (ADOPTION_TIMES,)
    trace.channel_name = ch.name if ch is not None else ""
    trace.dst_channel = pair.callee_channel.name if pair.callee_channel is not None else ""
    trace.add(now, "adopted", "conversation adopted after a restart or reconnect")
    trace.add(now, "bridge", "caller and callee found bridged", bridge=pair.bridge)
    return trace
