"""Routes StasisStart events to call sessions: one asyncio task per inbound call.

Also what happens around the sessions: the app's event filter is (re)set on every connect
(it outlives the WebSocket, protocol facts H), channels already in the app after a restart
or reconnect are adopted or cleanly finished, and on shutdown new calls are handed back to
the dialplan while calls in progress finish or are handed back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from functools import partial
from typing import Any

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import Event, StasisStart
from ivr_engine.asterisk.ari.models import Bridge, Channel
from ivr_engine.asterisk.constants import CALL_EVENT_TYPES
from ivr_engine.calls.adopt import TalkWatch, classify
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.session import CallSession
from ivr_engine.domain.trace import CallTrace

log = logging.getLogger(__name__)


class CallDispatcher:
    """Owns the call sessions of one engine."""

    def __init__(self, env: CallEnv) -> None:
        self.env = env
        self.sessions: dict[str, asyncio.Task[CallTrace]] = {}
        self.live: dict[str, CallSession] = {}
        self.adopted: dict[str, asyncio.Task[None]] = {}
        self.accepting = True
        self.finished: list[CallTrace] = []
        self.on_session: list[asyncio.Queue[CallTrace]] = []
        self._background_tasks: set[asyncio.Task[None]] = set()
        self.adoption_done = asyncio.Event()  # set after each pass over the app's channels
        self.outbound_calls: set[str] = set()  # ids of the engine's own outbound calls

    def attach(self, stream: object) -> None:
        """Subscribe to StasisStart and to the stream's (re)connects."""
        self.env.events.subscribe(self._on_event, types=StasisStart)
        on_connect = getattr(stream, "on_connect", None)
        if on_connect is not None:
            on_connect(self.on_connect)

    @property
    def active(self) -> int:
        """Calls in progress."""
        return len(self.sessions) + len(self.adopted)

    def _on_event(self, event: Event) -> None:
        """A channel entered the app: start a session for an inbound call."""
        if not isinstance(event, StasisStart):
            return
        channel = event.channel
        kind = event.args[0] if event.args else "inbound"
        if kind == "outbound":
            owners = event.args[1:] or ("",)
            if not any(o in self.sessions or o in self.outbound_calls for o in owners):
                owner = owners[-1]
                log.warning(
                    "outbound leg %s has no call (owner %s gone); hanging up", channel.id, owner
                )
                self._spawn_hangup(channel.id)
            return
        if channel.id in self.sessions or channel.id in self.adopted:
            return
        if not self.accepting:
            self._spawn_hand_back(channel.id)
            return
        self.start_session(channel)

    def start_session(self, channel: Channel) -> asyncio.Task[CallTrace]:
        """Start the session task for an inbound channel."""
        session = CallSession(self.env, channel)
        task = asyncio.create_task(session.run(), name=f"call-{channel.id}")
        self.sessions[channel.id] = task
        self.live[channel.id] = session
        task.add_done_callback(partial(self._done, channel.id))
        return task

    def _adopted_done(self, channel_id: str, _task: asyncio.Task[None]) -> None:
        """Forget an adopted call that has ended."""
        self.adopted.pop(channel_id, None)

    def _done(self, channel_id: str, task: asyncio.Task[CallTrace]) -> None:
        """Forget a finished session and publish its trace."""
        self.sessions.pop(channel_id, None)
        self.live.pop(channel_id, None)
        if task.cancelled() or task.exception() is not None:
            return
        trace = task.result()
        self.finished.append(trace)
        del self.finished[:-1000]
        for queue in self.on_session:
            queue.put_nowait(trace)

    def _background(self, coro: Coroutine[Any, Any, object]) -> None:
        """Run a REST call in the background, keeping a reference until it ends."""
        task = asyncio.create_task(self._quiet(coro))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def _spawn_hangup(self, channel_id: str) -> None:
        """Hang up a channel in the background."""
        self._background(self.env.ari.hangup(channel_id, reason="normal", missing_ok=True))

    def _spawn_hand_back(self, channel_id: str) -> None:
        """Send a new call back to the dialplan (the engine is draining)."""
        self._background(self.env.ari.continue_in_dialplan(channel_id))

    @staticmethod
    async def _quiet(coro: Coroutine[Any, Any, object]) -> None:
        """Await a REST call, logging instead of raising."""
        try:
            await coro
        except AriError as exc:
            log.warning("background ARI call failed: %s", exc)

    async def on_connect(self, _stream: object = None) -> None:
        """After every (re)connect: reset the event filter, adopt what is in the app."""
        try:
            await self.env.ari.set_event_filter(self.env.app, CALL_EVENT_TYPES)
        except AriError as exc:
            log.warning("could not set the event filter of %s: %s", self.env.app, exc)
        try:
            await self.adopt()
        except AriError as exc:
            log.error("adopting channels after connect failed: %s", exc)

    async def adopt(self) -> None:
        """Find the channels already in the app and adopt or finish them; tell running
        sessions about channels that ended while the event stream was down."""
        channels = await self.env.ari.list_channels()
        present = {ch.id for ch in channels}
        for session in list(self.live.values()):
            for watch in session.watches():
                if watch.channel_id not in present and not watch.gone.is_set():
                    log.info("channel %s ended while disconnected", watch.channel_id)
                    watch.gone.set()
        bridges: list[Bridge] = await self.env.ari.list_bridges()
        outbound = {f"{c}{leg}" for c in self.outbound_calls for leg in ("", "-c")}
        known = set(self.sessions) | set(self.adopted) | outbound
        plan = classify(self.env.app, channels, bridges, known)
        for channel_id in plan.hang_up:
            log.info("hanging up orphaned channel %s", channel_id)
            self._spawn_hangup(channel_id)
        for channel in plan.restart:
            log.info("restarting call %s found unanswered in the app", channel.id)
            self.start_session(channel)
        for pair in plan.talking:
            talk = TalkWatch(self.env, pair)
            await talk.prepare()
            adopted = asyncio.create_task(talk.run(), name=f"adopted-{pair.caller}")
            self.adopted[pair.caller] = adopted
            adopted.add_done_callback(partial(self._adopted_done, pair.caller))
        self.adoption_done.set()

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109
        """Stop taking calls; let calls in progress finish for up to ``timeout`` seconds,
        then hand the rest back (sessions do that when cancelled)."""
        self.accepting = False
        tasks = [*self.sessions.values(), *self.adopted.values()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
