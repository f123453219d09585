"""The repositories ``calls/`` works through (``calls.ports_store``), on Postgres.

Each wraps the named-query functions of ``store.agents``, ``store.queue_stats`` and
``store.callbacks`` around one pool, and turns driver failures into the engine's own
errors: ``DatabaseUnavailable`` when the server cannot be reached (refused, connection
lost, timed out), ``DatabaseError`` for any other failure of the database. Domain errors
raised by the functions (``ValidationError``, ``NotFoundError`` ...) pass through.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import asyncpg

from ivr_engine.domain.acd import AfterCallPlan, AgentState, CallOutcome
from ivr_engine.domain.queue_doc import QueueConfig
from ivr_engine.domain.queue_log import QueueLogEntry
from ivr_engine.domain.queue_state import ClaimedAgent, LiveQueue, QueueView, Stay
from ivr_engine.errors import DatabaseError, DatabaseUnavailable
from ivr_engine.store import agents, callbacks, queue_stats

# Failures that mean "the server is not there now" rather than "this statement failed".
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # the server is shutting down or starting up
    asyncpg.InsufficientResourcesError,  # too many connections
)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise driver failures inside the block as DatabaseUnavailable / DatabaseError."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise DatabaseUnavailable(f"{what}: {exc or type(exc).__name__}") from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseError(f"{what}: {exc}") from exc


class PgAgentRepo:
    """``AgentRepo`` on a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def sync_queue_agents(self, tenant_id: str, queue: QueueConfig, *, now: datetime) -> None:
        """See ``store.agents.sync_queue_agents``."""
        with translated("syncing the queue's agents"):
            await agents.sync_queue_agents(self.pool, tenant_id, queue, now=now)

    async def queue_view(
        self, tenant_id: str, queue_id: str, caller: str, *, period_start: datetime
    ) -> QueueView:
        """See ``store.agents.queue_view``."""
        with translated("reading the queue's agents"):
            return await agents.queue_view(
                self.pool, tenant_id, queue_id, caller, period_start=period_start
            )

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
        """See ``store.agents.claim``."""
        with translated("claiming agents"):
            return await agents.claim(
                self.pool,
                agent_ids,
                call_id=call_id,
                tenant_id=tenant_id,
                queue_id=queue_id,
                node=node,
                now=now,
                limit=limit,
            )

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
        """See ``store.agents.offer_failed``."""
        with translated("recording a missed offer"):
            return await agents.offer_failed(
                self.pool,
                agent,
                call_id=call_id,
                result=result,
                ring_seconds=ring_seconds,
                auto_pause_after=auto_pause_after,
                now=now,
            )

    async def call_answered(
        self, agent: ClaimedAgent, *, call_id: str, ring_seconds: float, now: datetime
    ) -> None:
        """See ``store.agents.call_answered``."""
        with translated("recording an answered offer"):
            await agents.call_answered(
                self.pool, agent, call_id=call_id, ring_seconds=ring_seconds, now=now
            )

    async def call_ended(
        self, agent_id: str, *, call_id: str, plan: AfterCallPlan, now: datetime
    ) -> AgentState | None:
        """See ``store.agents.call_ended``."""
        with translated("recording the end of an agent's call"):
            return await agents.call_ended(self.pool, agent_id, call_id=call_id, plan=plan, now=now)

    async def release_wrapups(self, *, now: datetime) -> list[str]:
        """See ``store.agents.release_wrapups``."""
        with translated("ending after-call work"):
            return await agents.release_wrapups(self.pool, now=now)

    async def set_reachable(self, endpoint: str, reachable: bool, device_state: str) -> list[str]:
        """See ``store.agents.set_reachable``."""
        with translated("recording a device state"):
            return await agents.set_reachable(self.pool, endpoint, reachable, device_state)


class PgQueueRepo:
    """``QueueRepo`` on a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

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
        """See ``store.queue_stats.enter``."""
        with translated("entering the queue"):
            return await queue_stats.enter(
                self.pool,
                call_id=call_id,
                tenant_id=tenant_id,
                queue_id=queue_id,
                number=number,
                caller=caller,
                node=node,
                now=now,
            )

    async def heartbeat(self, row_id: int, *, now: datetime) -> int:
        """See ``store.queue_stats.heartbeat``."""
        with translated("refreshing the caller's place in the queue"):
            return await queue_stats.heartbeat(self.pool, row_id, now=now)

    async def leave(
        self, row_id: int, outcome: CallOutcome, *, now: datetime, agent_id: str | None = None
    ) -> None:
        """See ``store.queue_stats.leave``."""
        with translated("recording the end of a queue wait"):
            await queue_stats.leave(self.pool, row_id, outcome, now=now, agent_id=agent_id)

    async def call_ended(self, row_id: int, *, now: datetime) -> None:
        """See ``store.queue_stats.call_ended``."""
        with translated("recording the end of a queue call"):
            await queue_stats.call_ended(self.pool, row_id, now=now)

    async def avg_handle_seconds(self, tenant_id: str, queue_id: str) -> float:
        """See ``store.queue_stats.avg_handle_seconds``."""
        with translated("reading the queue's handle time"):
            return await queue_stats.avg_handle_seconds(self.pool, tenant_id, queue_id)

    async def write_log(self, tenant_id: str, entries: Sequence[QueueLogEntry]) -> None:
        """See ``store.queue_stats.write_log``."""
        with translated("writing queue_log"):
            await queue_stats.write_log(self.pool, tenant_id, entries)

    async def live_queues(self, *, now: datetime) -> list[LiveQueue]:
        """See ``store.queue_stats.live_queues``."""
        with translated("reading the live queues"):
            return await queue_stats.live_queues(self.pool, now=now)

    async def agent_state_counts(self) -> list[tuple[str, str, int]]:
        """See ``store.queue_stats.agent_state_counts``."""
        with translated("counting agents per state"):
            return await queue_stats.agent_state_counts(self.pool)


class PgCallbackRepo:
    """``CallbackRepo`` on a pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

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
        """See ``store.callbacks.register_callback``."""
        with translated("registering a callback request"):
            return await callbacks.register_callback(
                self.pool,
                tenant_id=tenant_id,
                number=number,
                caller=caller,
                source=source,
                queue=queue,
                at=at,
            )
