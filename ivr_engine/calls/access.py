"""The access number's IVR on a live call: a member calls out through the tenant's 050
access number.

The caller's number identifies the member (an unregistered caller hears "not a registered
phone" and is refused, cause 21). The member hears the access prompt and keys the
destination, ``#`` to end it (or a pause of ``digit_timeout``); ``1`` alone calls back the
last customer who called one of the tenant's numbers. The call is then planned like every
outbound call (``domain.outbound``: caller ID, minutes reserved, refusals) and carried out
with the member's channel as the member leg (``calls.outbound_engine``); a refusal is
announced and the call released.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import ChannelDtmfReceived, Event
from ivr_engine.calls.legs import race
from ivr_engine.calls.outbound_engine import new_call_id
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.outbound import Refusal
from ivr_engine.domain.planner import AccessStep

if TYPE_CHECKING:
    from ivr_engine.calls.session import CallSession

log = logging.getLogger(__name__)

LAST_CALLER_KEY = "1"
MAX_DIGITS = 16
FIRST_KEY_TIMEOUT = 15.0  # seconds after the prompt started for the first key


async def collect_digits(session: CallSession, prompt: str) -> str:
    """Play the prompt and collect keys until ``#``, a pause or MAX_DIGITS; a key stops
    the prompt. Empty when nothing was keyed."""
    env = session.env
    keys: asyncio.Queue[str] = asyncio.Queue()

    def on_event(event: Event) -> None:
        if isinstance(event, ChannelDtmfReceived):
            keys.put_nowait(event.digit)

    sub = env.events.subscribe(on_event, channel_id=session.channel_id, types=ChannelDtmfReceived)
    pid = f"pb-{session.channel_id}-access"
    digits = ""
    try:
        await env.ari.play(session.channel_id, env.media.system(prompt), playback_id=pid)
        wait = FIRST_KEY_TIMEOUT
        while len(digits) < MAX_DIGITS:
            try:
                key = await race(keys.get(), session.watch, timeout=wait / env.time_scale)
            except TimeoutError:
                break
            if not digits:
                try:
                    await env.ari.stop_playback(pid, missing_ok=True)
                except AriError as exc:
                    log.debug("access prompt of %s: %s", session.channel_id, exc)
            if key == "#":
                break
            digits += key
            wait = env.digit_timeout
    finally:
        sub.close()
    return digits


async def run_access(session: CallSession, step: AccessStep) -> None:
    """The access IVR, then the member's outbound call (see the module docstring)."""
    env = session.env
    if env.outbound is None or env.dialer is None:
        await session.play(env.media.system("cannot-be-reached"), "cannot-be-reached")
        await session.hangup_caller(Cause.NO_ROUTE_DESTINATION, "outbound calls not served")
        return
    found = await env.outbound.member(session.caller_number)
    if found is None or found[0] != step.tenant_id:
        session.note("access", f"{mask(session.caller_number)} is not a registered member")
        await session.play(env.media.system("access-not-member"), "access-not-member")
        await session.hangup_caller(Cause.CALL_REJECTED, "not a registered member")
        return
    member = found[1]
    session.note("access", f"member {member.name} on the access number")
    keyed = await collect_digits(session, "access-menu")
    if not keyed:
        await session.hangup_caller(Cause.NORMAL_CLEARING, "no destination keyed")
        return
    to: str | None = keyed
    if keyed == LAST_CALLER_KEY:
        to = await env.outbound.last_caller(step.tenant_id, excluding=session.number)
        if to is None:
            await session.play(env.media.system("access-no-caller"), "access-no-caller")
            await session.hangup_caller(Cause.NORMAL_CLEARING, "no customer called yet")
            return
    assert to is not None
    call_id = new_call_id()
    plan = await env.outbound.prepare(
        member.mobile, to, None, call_id=call_id, now=session.now(), tenant_id=step.tenant_id
    )
    if isinstance(plan, Refusal):
        session.note("access", f"outbound call to {mask(to)} refused: {plan.code.value}")
        await session.play(env.media.system("access-refused"), "access-refused")
        await session.hangup_caller(Cause.CALL_REJECTED, f"refused: {plan.code.value}")
        return
    session.note("outbound", f"calling {mask(to)} as call {call_id}", call_id=call_id)
    done = await env.dialer.run_on_line(plan, call_id, session.channel_id)
    facts = done.facts
    session.note("outbound", f"call {call_id}: {facts.describe()}", call_id=call_id)
    if facts.ended_by == "member":
        session.ended_by("caller", session.watch.cause)
    else:
        session.ended_by("engine", Cause.NORMAL_CLEARING)
