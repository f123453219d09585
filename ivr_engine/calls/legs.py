"""Watching one channel of a call: when it is gone, and with which cause.

Per the protocol facts (H), "this channel is over" arrives as StasisEnd, ChannelHangupRequest
or ChannelDestroyed, depending on who hung up and how the app is subscribed; a plain inbound
channel gets no ChannelDestroyed at all. The Q.850 cause is taken from whichever event
carries one: a far-end HangupRequest (no ``soft``), else ChannelDestroyed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from ivr_engine.asterisk.ari.events import (
    ChannelDestroyed,
    ChannelHangupRequest,
    ChannelStateChange,
    Event,
    StasisEnd,
    StasisStart,
)
from ivr_engine.asterisk.ari.waiters import Subscription
from ivr_engine.asterisk.constants import SOFT_HANGUP_EXPLICIT
from ivr_engine.calls.ports import EventPort

T = TypeVar("T")


@dataclass
class LegWatch:
    """Follows one channel's events: answered (entered Stasis Up), ringing, gone + cause."""

    channel_id: str
    events: EventPort
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # Up and inside the app
    ringing: bool = False
    up: bool = False
    cause: int | None = None
    tech_cause: int | None = None
    hangup_by_far_end: bool = False
    destroyed: bool = False
    _sub: Subscription | None = None

    def start(self) -> LegWatch:
        """Subscribe to the channel's events (call before the REST call that creates it)."""
        self._sub = self.events.subscribe(self._on_event, channel_id=self.channel_id)
        return self

    def close(self) -> None:
        """Stop following the channel."""
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def _on_event(self, event: Event) -> None:
        """Update the leg's state from one of its events."""
        if isinstance(event, ChannelHangupRequest):
            if not event.soft and event.cause is not None and self.cause is None:
                self.cause = event.cause
                self.tech_cause = event.tech_cause
                self.hangup_by_far_end = True
            elif not event.soft and event.cause is None:
                self.hangup_by_far_end = True
            self.gone.set()
        elif isinstance(event, ChannelDestroyed):
            self.destroyed = True
            if self.cause is None or self.cause == SOFT_HANGUP_EXPLICIT:
                self.cause = event.cause
                self.tech_cause = event.tech_cause
            self.gone.set()
        elif isinstance(event, StasisEnd):
            self.gone.set()
        elif isinstance(event, StasisStart):
            # An originated leg enters Stasis only once answered: only now can it be played
            # to or bridged (a state change to Up comes earlier, still outside the app).
            self.up = self.up or event.channel.state == "Up"
            self.answered.set()
        elif isinstance(event, ChannelStateChange):
            self.ringing = self.ringing or event.channel.state == "Ringing"
            self.up = self.up or event.channel.state == "Up"


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
    one of ``others`` (ChannelGone), or the timeout passes (TimeoutError)."""
    task = asyncio.ensure_future(awaitable)
    watchers = {asyncio.ensure_future(w.gone.wait()): w for w in (caller, *others)}
    try:
        done, _ = await asyncio.wait(
            {task, *watchers}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for fut in watchers:
            fut.cancel()
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task})
    for fut, watch in watchers.items():
        if fut in done:
            raise (CallerGone if watch is caller else ChannelGone)(watch.channel_id)
    raise TimeoutError(f"timed out after {timeout} s")
