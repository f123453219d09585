"""What the engine's two-party calls share (an outbound call: member then customer; a
call-back: agent then customer): ringing a leg, waiting for its answer, ringback to the
party on the line, hanging up what is left, and tearing the bridge down.

    class OutboundCall(TwoPartyCall):
        ...
        if not await self._place(leg, endpoint, caller_id=..., dial_timeout=..., ...):
            ...
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from ivr_engine.asterisk.ari.errors import AriConnectionError, AriError
from ivr_engine.calls.flag import Flag
from ivr_engine.calls.legs import ChannelGone, LegWatch
from ivr_engine.calls.ports import AriPort
from ivr_engine.domain.causes import Cause

log = logging.getLogger(__name__)


async def first_set(flags: Sequence[Flag], timeout: float | None) -> None:  # noqa: ASYNC109
    """Return once any flag is set; TimeoutError after ``timeout`` wall seconds."""
    waits = [asyncio.ensure_future(flag.wait()) for flag in flags]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in waits:
            fut.cancel()
    if not done:
        raise TimeoutError(f"nothing happened within {timeout} s")


class TwoPartyCall:
    """The ARI side of a call between two parties the engine rings itself."""

    def __init__(self, ari: AriPort, app: str, label: str) -> None:
        self.ari, self.app = ari, app
        self.label = label  # how the log names the call: "outbound call ...", "call-back #7"
        self.bridge_id: str | None = None
        self._placed: set[str] = set()  # legs Asterisk accepted to ring (or already up)

    async def _place(
        self,
        leg: LegWatch,
        endpoint: str,
        *,
        role: str,
        shown: str,
        caller_id: str,
        dial_timeout: int,
        app_args: tuple[str, ...],
        variables: Mapping[str, str],
        originator: str | None,
    ) -> bool:
        """Start ringing one party (``shown``: its endpoint as the log may show it); False
        when Asterisk refuses the call (logged)."""
        leg.start()  # subscribe before acting
        try:
            channel = await self.ari.originate(
                endpoint,
                app=self.app,
                app_args=app_args,
                caller_id=caller_id,
                dial_timeout=dial_timeout,
                channel_id=leg.channel_id,
                originator=originator,
                variables=dict(variables),
            )
        except AriError as exc:
            if isinstance(exc, AriConnectionError):  # the call may have been placed anyway
                try:
                    await self.ari.hangup(leg.channel_id, missing_ok=True)
                except AriError as again:
                    log.warning("%s: hanging up %s failed: %s", self.label, leg.channel_id, again)
            leg.close()
            log.warning("%s: ringing the %s at %s failed: %s", self.label, role, shown, exc)
            return False
        leg.name = getattr(channel, "name", None) or leg.name
        self._placed.add(leg.channel_id)
        log.info("%s: ringing the %s at %s for %d s", self.label, role, shown, dial_timeout)
        return True

    async def _await_answer(
        self, leg: LegWatch, ring_wall: float, *, while_up: LegWatch | None = None
    ) -> bool:
        """Wait until the leg answers (True) or ends (False); a leg still ringing after
        ``ring_wall`` wall seconds is hung up. ChannelGone when ``while_up`` ends first."""
        watched = [leg.answered, leg.gone] + ([while_up.gone] if while_up else [])
        try:
            await first_set(watched, ring_wall)
        except TimeoutError:
            log.warning(
                "%s: %s still ringing past its ring time; ending it", self.label, leg.channel_id
            )
            await self._release(leg, reason="no_answer")
            leg.cause = leg.cause or Cause.NO_ANSWER
            return False
        if while_up is not None and while_up.gone.is_set():
            raise ChannelGone(while_up.channel_id)
        return leg.answered.is_set() and not leg.gone.is_set()

    async def _ring_to(self, leg: LegWatch, *, start: bool) -> None:
        """Let the party on the line hear ringing (or stop it) while the other one rings;
        a party hanging up meanwhile shows in its events."""
        try:
            if start:
                await self.ari.ring(leg.channel_id)
            else:
                await self.ari.ring_stop(leg.channel_id)
        except AriError as exc:
            log.debug("%s: ringback %s: %s", self.label, "start" if start else "stop", exc)

    async def _release(self, *legs: LegWatch, reason: str = "normal") -> None:
        """Hang up the legs that are still there."""
        for leg in legs:
            if leg.gone.is_set() or leg.channel_id not in self._placed:
                continue
            try:
                await self.ari.hangup(leg.channel_id, reason=reason, missing_ok=True)
            except AriError as exc:
                log.warning("%s: hanging up %s failed: %s", self.label, leg.channel_id, exc)

    async def _teardown(self, *legs: LegWatch) -> None:
        """After the call: stop watching the legs and destroy the bridge, if any."""
        for leg in legs:
            leg.close()
        if self.bridge_id is not None:
            try:
                await asyncio.shield(self.ari.destroy_bridge(self.bridge_id, missing_ok=True))
            except AriError as exc:
                log.warning("%s: destroying its bridge failed: %s", self.label, exc)
