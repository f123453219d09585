"""Watching one channel of a call: when it is gone, and with which cause.

Per the protocol facts (H), "this channel is over" arrives as StasisEnd, ChannelHangupRequest
or ChannelDestroyed, depending on who hung up and how the app is subscribed; a plain inbound
channel gets no ChannelDestroyed at all. The Q.850 cause is taken from whichever event
carries one: a far-end HangupRequest (no ``soft``), else ChannelDestroyed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import (
    ChannelDestroyed,
    ChannelHangupRequest,
    Event,
    StasisEnd,
    StasisStart,
)
from ivr_engine.asterisk.ari.waiters import Subscription
from ivr_engine.asterisk.constants import SOFT_HANGUP_EXPLICIT
from ivr_engine.calls.flag import Flag
from ivr_engine.calls.ports import EventPort
from ivr_engine.domain.causes import Cause

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long after a failed request the hangup that explains it may still arrive (seconds):
# Asterisk answers the request and publishes the hangup's events independently.
HANGUP_GRACE = 1.0


@dataclass(slots=True)
class LegWatch:
    """Follows one channel's events: answered (entered the app), gone, and with which cause."""

    channel_id: str
    events: EventPort
    gone: Flag = field(default_factory=Flag)
    answered: Flag = field(default_factory=Flag)  # Up and inside the app
    cause: int | None = None
    tech_cause: int | None = None
    # The cause was not reported but is Normal Clearing: a party's BYE gives a
    # ChannelHangupRequest without cause keys (H, a caller's and a callee's alike); a
    # ChannelDestroyed that follows (with a Reason header's cause, say) replaces it.
    cause_assumed: bool = False
    hangup_by_far_end: bool = False
    destroyed: bool = False
    name: str = ""  # the Asterisk channel name (originate's reply, then StasisStart's)
    # The call's loop, for race(): asyncio.get_running_loop() and current_task() make a
    # getpid() system call each on Python 3.11.
    loop: asyncio.AbstractEventLoop | None = None
    _sub: Subscription | None = None

    def start(self) -> LegWatch:
        """Subscribe to the channel's events (call before the REST call that creates it)."""
        self._sub = self.events.subscribe(self._on_event, channel_id=self.channel_id)
        self.loop = asyncio._get_running_loop()  # None outside a loop (then race() asks)
        return self

    def close(self) -> None:
        """Stop following the channel."""
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def _on_event(self, event: Event) -> None:
        """Update the leg's state from one of its events."""
        if isinstance(event, ChannelHangupRequest):
            if not event.soft:  # the far end: its Q.850 cause, or none for a BYE
                self.hangup_by_far_end = True
                if event.cause is not None and (self.cause is None or self.cause_assumed):
                    self.cause, self.tech_cause = event.cause, event.tech_cause
                    self.cause_assumed = False
                elif event.cause is None and self.cause is None:
                    self.cause, self.cause_assumed = Cause.NORMAL_CLEARING, True
            self.gone.set()
        elif isinstance(event, ChannelDestroyed):
            self.destroyed = True
            if self.cause is None or self.cause == SOFT_HANGUP_EXPLICIT or self.cause_assumed:
                self.cause = event.cause
                self.tech_cause = event.tech_cause
                self.cause_assumed = False
            self.gone.set()
        elif isinstance(event, StasisEnd):
            self.gone.set()
        elif isinstance(event, StasisStart):
            # An originated leg enters Stasis only once answered: only now can it be played
            # to or bridged (a state change to Up comes earlier, still outside the app).
            self.name = event.channel.name or self.name
            self.answered.set()


class ChannelGone(Exception):
    """A channel the session was waiting on is gone."""

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)
        self.channel_id = channel_id


class CallerGone(ChannelGone):
    """The caller's channel is gone: whatever the session was doing stops."""


async def race(
    awaitable: Awaitable[T],
    caller: LegWatch,
    *others: LegWatch,
    timeout: float | None = None,  # noqa: ASYNC109
) -> T:
    """Await ``awaitable`` unless a watched channel goes first: the caller (CallerGone) or
    one of ``others`` (ChannelGone), or the timeout passes (TimeoutError).

    Runs ``awaitable`` in the calling task and cancels it there, the way ``asyncio.timeout``
    does, instead of a task per awaitable and per watched channel: a call makes several of
    these races, so tasks here were a good share of its CPU.

    A channel already gone raises at once, and ``awaitable`` (an ARI request, say) is not
    started. A request that fails because one of the channels hung up meanwhile (Asterisk
    answers 404, or for addChannel 400 / 422, and the hangup's events follow within
    ``HANGUP_GRACE``) raises that channel's CallerGone / ChannelGone too, chained to the
    error, which is logged with the call id (``caller``'s channel).
    """
    watches = (caller, *others)
    for watch in watches:
        if watch.gone.is_set():
            _discard(awaitable)
            raise (CallerGone if watch is caller else ChannelGone)(watch.channel_id)
    loop = caller.loop or asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    assert task is not None, "race() runs inside a task"
    fired: list[LegWatch | None] = []

    def fire(watch: LegWatch | None) -> None:
        if not fired:
            fired.append(watch)
            task.cancel()

    callbacks = [_on_gone(w, fire) for w in watches]
    timer = loop.call_later(timeout, fire, None) if timeout is not None else None
    try:
        result = await awaitable
    except asyncio.CancelledError:
        if fired and task.uncancel() == 0:
            gone = fired[0]
            if gone is None:
                raise TimeoutError(f"timed out after {timeout} s") from None
            raise (CallerGone if gone is caller else ChannelGone)(gone.channel_id) from None
        raise
    except AriError as error:
        failed: AriError | None = error
    else:
        failed = None
    finally:
        _forget(watches, callbacks)
        if timer is not None:
            timer.cancel()
    if fired:  # it finished in the same turn as the cancel: the outcome stands
        task.uncancel()
    if failed is not None:
        await hung_up_meanwhile(failed, caller, *others)
        raise failed
    return result


async def hung_up_meanwhile(
    error: AriError,
    caller: LegWatch,
    *others: LegWatch,
    grace: float = HANGUP_GRACE,
) -> None:
    """After a failed ARI request: raise CallerGone / ChannelGone (from ``error``) when one
    of the call's channels is gone or goes within ``grace`` seconds, the hangup being why
    the request failed; return when none does (the error is a real one)."""
    watches = (caller, *others)
    gone = next((w for w in watches if w.gone.is_set()), None)
    if gone is None:
        first: asyncio.Future[LegWatch | None] = asyncio.get_running_loop().create_future()

        def fire(watch: LegWatch | None) -> None:
            if not first.done():
                first.set_result(watch)

        callbacks = [_on_gone(w, fire) for w in watches]
        try:
            gone = await asyncio.wait_for(asyncio.shield(first), grace)
        except TimeoutError:
            gone = None
        finally:
            _forget(watches, callbacks)
    if gone is None:
        return
    who = "the caller" if gone is caller else f"channel {gone.channel_id}"
    log.info("call %s: %s (%s hung up meanwhile)", caller.channel_id, error, who)
    raise (CallerGone if gone is caller else ChannelGone)(gone.channel_id) from error


def _on_gone(watch: LegWatch, fire: Callable[[LegWatch | None], None]) -> Callable[[], None]:
    """Have ``fire(watch)`` called when the watched channel goes; returns the callback (a
    partial: the talk wait holds these for a whole conversation)."""
    callback = functools.partial(fire, watch)
    watch.gone.add_callback(callback)
    return callback


def _forget(watches: tuple[LegWatch, ...], callbacks: list[Callable[[], None]]) -> None:
    """Take back the callbacks ``_on_gone`` gave each watch."""
    for watch, callback in zip(watches, callbacks, strict=True):
        watch.gone.discard_callback(callback)


def _discard(awaitable: Awaitable[object]) -> None:
    """Drop an awaitable that will not be awaited (no 'never awaited' warning)."""
    if asyncio.iscoroutine(awaitable):
        awaitable.close()
    elif asyncio.isfuture(awaitable):
        awaitable.cancel()
