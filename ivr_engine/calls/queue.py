"""A caller in a call queue: wait on hold, get an agent, talk; or leave.

``run_queue(session, queue_id)`` answers the caller, puts it alone in a holding bridge with
music on hold (or the queue's coloring looped), plays the periodic announcement (with the
position and expected wait when configured), and distributes: when the caller's position is
within the ready agents, it ranks the candidates (``domain.acd``), claims agents in Postgres
(``FOR UPDATE SKIP LOCKED``: no agent is offered two calls at once across engines) and
originates to them with the agent's ring time. A missed offer counts towards the agent's
auto-pause and the next agent is tried. When an agent answers, the caller leaves the holding
bridge for a mixing bridge with the agent; after the call the agent goes to after-call work.
The caller leaves for the overflow after the maximum wait or when no agent is logged in, or
with the callback key for a callback request (``calls.queue_exit``). Every step is written to
``queue_log``.

The database is reached through the engine's queue runtime (``CallEnv.queues``, see
``calls.queue_runtime``). When it fails under a waiting caller, the wait ends in the
overflow; what happened is recorded once the database is back. After-call work is ended by
the runtime's one periodic task (``AgentTimers``), never by the waiting callers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from ivr_engine.asterisk.ari.events import ChannelDtmfReceived
from ivr_engine.calls.legs import CallerGone, race
from ivr_engine.calls.ports import ConfigUnavailable, load_config
from ivr_engine.calls.queue_exit import database_failed, leave_with_callback, overflow
from ivr_engine.calls.queue_hold import Holding
from ivr_engine.calls.queue_offer import AgentOffer
from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.domain.acd import CallOutcome, after_call, expected_wait, may_claim, rank
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.queue_doc import QueueConfig, QueueStrategy, find_queue
from ivr_engine.domain.queue_log import QueueEvent, QueueLogEntry, event_data, seconds
from ivr_engine.errors import DatabaseError

if TYPE_CHECKING:
    from ivr_engine.calls.session import CallSession

log = logging.getLogger(__name__)


async def run_queue(session: CallSession, queue_id: str) -> None:
    """Put the session's caller in queue ``queue_id`` of its number (or of the runtime) until
    an agent answers, the caller leaves, or the overflow takes over."""
    runtime = session.env.queues
    try:
        config = await load_config(session.env.configs, session.number, session.env.config_timeout)
    except ConfigUnavailable:
        config = None  # the number's queues are unknown: the runtime's may still serve
    queue = find_queue(getattr(config, "queues", None), queue_id) if config else None
    if runtime is not None and queue is None:
        queue = runtime.queues.get(queue_id)
    tenant = config.tenant_id if config is not None else session.trace.tenant_id
    if runtime is None or queue is None or tenant is None:
        why = "queues are not available" if runtime is None else f"no queue {queue_id!r}"
        log.error("call %s: %s", session.channel_id, why)
        session.note("queue", why)
        await session.play(session.env.media.system("cannot-be-reached"), "cannot-be-reached")
        await session.hangup_caller(Cause.CONGESTION, why)
        return
    await QueueCall(session, runtime, queue, tenant).run()


class QueueCall:
    """One caller's stay in one queue."""

    def __init__(
        self, session: CallSession, runtime: QueueRuntime, queue: QueueConfig, tenant: str
    ) -> None:
        self.s, self.rt, self.q, self.tenant = session, runtime, queue, tenant
        self.env = session.env
        self.agents, self.calls = runtime.agents, runtime.calls
        self.entered: datetime = session.now()
        self.row_id = 0
        self.position = self.orig_position = 1
        self.key_pressed = asyncio.Event()
        self.holding: Holding | None = None
        self.legs_made = 0
        self.answered_row = 0  # the queue_calls row of the answered call (for its end)

    def log_event(self, event: QueueEvent, agent: str, *fields: object) -> QueueLogEntry:
        """A queue_log entry of this call."""
        return QueueLogEntry(
            self.s.now(), self.s.channel_id, self.q.id, agent, event, event_data(event, *fields)
        )

    async def write(self, *entries: QueueLogEntry) -> None:
        """Append to queue_log (never ends the call: written later if the database is away)."""
        await self.rt.record(
            "writing queue_log", partial(self.calls.write_log, self.tenant, entries)
        )

    def waited(self) -> float:
        """Seconds waited so far."""
        return (self.s.now() - self.entered).total_seconds()

    async def run(self) -> None:
        """The whole stay (see the module docstring)."""
        s = self.s
        if not s.answered:
            await race(self.env.ari.answer(s.channel_id), s.watch, timeout=self.env.request_timeout)
            s.mark_answered()
        sub = self.env.events.subscribe(
            self._on_dtmf, types=ChannelDtmfReceived, channel_id=s.channel_id
        )
        try:
            try:
                await self._enter()
                await self._wait_and_serve()
            except DatabaseError as exc:
                await database_failed(self, exc)
        except CallerGone:
            await self.record_exit(
                CallOutcome.ABANDONED,
                QueueEvent.ABANDON,
                self.position,
                self.orig_position,
                seconds(self.waited()),
            )
            raise
        finally:
            sub.close()
            await self.close_holding()

    async def _enter(self) -> None:
        """Join the queue: its agents exist, the caller has a row and a position."""
        s = self.s
        await self._sync_agents()
        stay = await self.calls.enter(
            call_id=s.channel_id,
            tenant_id=self.tenant,
            queue_id=self.q.id,
            number=s.number,
            caller=s.trace.caller,
            node=self.rt.node,
            now=self.entered,
        )
        self.row_id, self.position = stay.row_id, stay.position
        self.orig_position = stay.position
        await self.write(
            self.log_event(
                QueueEvent.ENTERQUEUE, "NONE", "", s.trace.caller or "anonymous", stay.position
            )
        )
        s.note(
            "queue",
            f"entered queue {self.q.label} at position {stay.position}",
            queue=self.q.id,
            position=stay.position,
        )

    async def close_holding(self) -> None:
        """The caller leaves the holding bridge (if it is in one)."""
        if self.holding is not None:
            holding, self.holding = self.holding, None
            await holding.close()

    def _on_dtmf(self, event: Any) -> None:
        if self.q.callback_key and event.digit == self.q.callback_key:
            self.key_pressed.set()

    async def _sync_agents(self) -> None:
        """Make the queue's configured agents exist (once per configuration per engine)."""
        key = (self.tenant, self.q.id, hash(self.q.agents))
        if self.q.agents and key not in self.rt.synced:
            await self.agents.sync_queue_agents(self.tenant, self.q, now=self.s.now())
            self.rt.synced.add(key)

    async def record_exit(
        self, outcome: CallOutcome, event: QueueEvent, *fields: object, agent: str | None = None
    ) -> None:
        """Record how the wait ended (written later if the database is away)."""
        if not self.row_id:
            return
        leave = partial(self.calls.leave, self.row_id, outcome, now=self.s.now(), agent_id=agent)
        await self.rt.record("recording the end of a queue wait", leave)
        await self.write(self.log_event(event, agent or "NONE", *fields))
        self.s.note(
            "queue",
            f"left queue {self.q.label}: {outcome.value}",
            queue=self.q.id,
            outcome=outcome.value,
            waited=round(self.waited(), 3),
        )
        self.row_id = 0

    async def _wait_and_serve(self) -> None:
        """The distribution loop."""
        s, q = self.s, self.q
        deadline = self.entered + timedelta(seconds=q.max_wait_seconds)
        next_announce = self.entered + timedelta(seconds=q.announce_every_seconds)
        while True:
            # Taken before looking at the agents: a notify() from here on ends the pause
            # below at once, even when it comes before the pause begins.
            wake = self.rt.wake
            now = s.now()
            self.position = await self.calls.heartbeat(self.row_id, now=now)
            view = await self.agents.queue_view(
                self.tenant, q.id, s.trace.caller, period_start=now - timedelta(days=1)
            )
            if self.key_pressed.is_set() and await leave_with_callback(self):
                return
            if view.logged_in == 0:
                await overflow(self, QueueEvent.EXITEMPTY, "no agent is logged in")
                return
            if now >= deadline:
                await overflow(self, QueueEvent.EXITWITHTIMEOUT, "maximum wait reached")
                return
            if self.holding is None:
                self.holding = Holding(self)
                await self.holding.start()
            if may_claim(self.position, view.ready):
                limit = len(view.candidates) if q.strategy is QueueStrategy.RING_ALL else 1
                ranked = rank(
                    q.strategy,
                    view.candidates,
                    last_agent=view.last_agent,
                    sticky_agent=view.sticky_agent,
                )
                claimed = await self.agents.claim(
                    ranked,
                    call_id=s.channel_id,
                    tenant_id=self.tenant,
                    queue_id=q.id,
                    node=self.rt.node,
                    now=now,
                    limit=limit,
                )
                if claimed and await AgentOffer(self, claimed).run():
                    return
                if claimed:
                    continue
            if q.announce_every_seconds and now >= next_announce:
                await self.holding.announce(self.position, await self._expected(view.ready))
                next_announce = s.now() + timedelta(seconds=q.announce_every_seconds)
                continue
            await self._pause(wake, min((deadline - now).total_seconds(), self.rt.poll_seconds))

    async def _expected(self, ready: int) -> float | None:
        """The expected wait, when the queue announces it."""
        if not self.q.announce_wait:
            return None
        handle = await self.calls.avg_handle_seconds(self.tenant, self.q.id)
        return expected_wait(self.position, handle, max(1, ready))

    async def _pause(self, wake: asyncio.Event, clock_seconds: float) -> None:
        """Wait for ``wake`` (an agent may have become ready here), the callback key, or the
        poll interval."""
        waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(self.key_pressed.wait())]
        try:
            await race(
                asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED),
                self.s.watch,
                timeout=self.rt.wall(max(0.0, clock_seconds)),
            )
        except TimeoutError:
            pass
        finally:
            for w in waits:
                w.cancel()

    async def agent_done(self, agent_id: str, *, by_agent: bool, talk: float, hold: float) -> None:
        """After the talk: record it and put the agent in after-call work."""
        plan = after_call(self.q.wrapup_seconds, self.q.after_call)
        now = self.s.now()
        ended = partial(
            self.agents.call_ended, agent_id, call_id=self.s.channel_id, plan=plan, now=now
        )
        await self.rt.record("ending the agent's call", ended)
        if self.answered_row:
            talked = partial(self.calls.call_ended, self.answered_row, now=now)
            await self.rt.record("ending the queue call", talked)
        event = QueueEvent.COMPLETEAGENT if by_agent else QueueEvent.COMPLETECALLER
        await self.write(
            self.log_event(event, agent_id, seconds(hold), seconds(talk), self.orig_position)
        )
        if plan.state.value == "ready":
            self.rt.notify()
