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

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.models import Bridge, Channel
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.legs import ChannelGone, LegWatch, race

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TalkPair:
    """A caller and a callee found bridged together."""

    caller: str
    callee: str
    bridge: str


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


def classify(app: str, channels: Iterable[Channel], bridges: Iterable[Bridge],
             known: set[str]) -> AdoptPlan:
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
            plan.talking.append(TalkPair(cid, partners[0], bridge.id))  # type: ignore[union-attr]
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
    """Follows an adopted conversation until one side hangs up, then ends the other."""

    def __init__(self, env: CallEnv, pair: TalkPair) -> None:
        self.env = env
        self.pair = pair

    async def run(self) -> None:
        """Wait for either party to leave; hang up the other and destroy the bridge."""
        caller = LegWatch(self.pair.caller, self.env.events).start()
        callee = LegWatch(self.pair.callee, self.env.events).start()
        try:
            # The channels may have gone while we were disconnected: check once.
            await self._ensure_alive(caller, callee)
            try:
                await race(asyncio.Event().wait(), caller, callee)
            except ChannelGone as gone:
                pair = self.pair
                other = pair.callee if gone.channel_id == pair.caller else pair.caller
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

    async def _ensure_alive(self, caller: LegWatch, callee: LegWatch) -> None:
        """Mark a watch gone when its channel no longer exists."""
        present = {ch.id for ch in await self.env.ari.list_channels()}
        for watch in (caller, callee):
            if watch.channel_id not in present:
                watch.gone.set()
