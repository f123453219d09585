"""What queue calls, agent timers and callback requests need from the database, as
Protocols.

``calls/`` depends on these, never on asyncpg or ``store/``: the repositories of
``store/repos.py`` implement them on Postgres. They raise ``errors.DatabaseError`` (and its
``DatabaseUnavailable`` when the server cannot be reached) instead of driver exceptions;
domain errors (``ValidationError``, ``NotFoundError`` ...) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ivr_engine.domain.acd import AfterCallPlan, AgentState, CallOutcome
from ivr_engine.domain.queue_doc import QueueConfig
from ivr_engine.domain.queue_log import QueueLogEntry
from ivr_engine.domain.queue_state import ClaimedAgent, LiveQueue, QueueView, Stay


class AgentRepo(Protocol):
    """Agents' states and offers (claims are ``FOR UPDATE SKIP LOCKED``: an agent is never
    offered two calls at once, whichever engine offers)."""

    async def sync_queue_agents(self, tenant_id: str, queue: QueueConfig, *, now: datetime) -> None:
        """Make the agents a queue's configuration lists exist and be its members."""
        ...

    async def queue_view(
        self, tenant_id: str, queue_id: str, caller: str, *, period_start: datetime
    ) -> QueueView:
        """Ready candidates of a queue with their statistics, counts and memories."""
        ...

    async def claim(
        self,
        agent_ids: Sequence[str],
        *,
        call_id: str,
        tenant_id: str,
        queue_id: str,
        node: str,
        now: datetime,
        limit: int = 1,
    ) -> list[ClaimedAgent]:
        """Claim up to ``limit`` of the agents (in order) for a call: each is now ringing."""
        ...

    async def offer_failed(
        self,
        agent: ClaimedAgent,
        *,
        call_id: str,
        result: str,
        ring_seconds: float,
        auto_pause_after: int,
        now: datetime,
    ) -> bool:
        """An offer ended without the agent taking the call; True when auto-paused."""
        ...

    async def call_answered(
        self, agent: ClaimedAgent, *, call_id: str, ring_seconds: float, now: datetime
    ) -> None:
        """The agent took the call."""
        ...

    async def call_ended(
        self, agent_id: str, *, call_id: str, plan: AfterCallPlan, now: datetime
    ) -> AgentState | None:
        """The agent's call ended: after-call work or the planned state."""
        ...

    async def release_wrapups(self, *, now: datetime) -> list[str]:
        """End every after-call work whose time is up; the agents released."""
        ...

    async def set_reachable(self, endpoint: str, reachable: bool, device_state: str) -> list[str]:
        """Record an endpoint's device state; the agents using that endpoint."""
        ...


class QueueRepo(Protocol):
    """Callers' rows in queues, the queue_log and the live queue figures."""

    async def enter(
        self,
        *,
        call_id: str,
        tenant_id: str,
        queue_id: str,
        number: str,
        caller: str,
        node: str,
        now: datetime,
    ) -> Stay:
        """A caller joins a queue; its row and position."""
        ...

    async def heartbeat(self, row_id: int, *, now: datetime) -> int:
        """The caller is still waiting; its current position (1 = next)."""
        ...

    async def leave(
        self, row_id: int, outcome: CallOutcome, *, now: datetime, agent_id: str | None = None
    ) -> None:
        """The caller's wait is over, with this outcome."""
        ...

    async def call_ended(self, row_id: int, *, now: datetime) -> None:
        """An answered queue call has ended."""
        ...

    async def avg_handle_seconds(self, tenant_id: str, queue_id: str) -> float:
        """Average talk time of the queue's recent calls (0 without history)."""
        ...

    async def write_log(self, tenant_id: str, entries: Sequence[QueueLogEntry]) -> None:
        """Append queue_log lines."""
        ...

    async def live_queues(self, *, now: datetime) -> list[LiveQueue]:
        """Every queue with callers waiting now."""
        ...

    async def agent_state_counts(self) -> list[tuple[str, str, int]]:
        """(tenant, state, agents) for every state that has agents."""
        ...


class CallbackRepo(Protocol):
    """Where callers' callback requests are kept."""

    async def register(
        self,
        *,
        tenant_id: str,
        number: str,
        caller: str,
        source: str,
        queue: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Register a request (or count a repeat of the caller's pending one); its id.
        ``ValidationError`` when the caller has no number to call back."""
        ...
