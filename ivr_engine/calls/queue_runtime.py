"""What the queue calls of one engine share: the repositories, the instance name, the clock
speed, how often a waiting caller looks for an agent, and the wake-up that tells waiting
callers an agent may have become ready.

Writes that record what already happened (a caller's exit, an offer's result, the end of
an agent's call, queue_log lines) must not be lost when Postgres is away for a moment: a
write the database could not take is kept here (``defer``) and written again, in order, by
the engine's periodic task (``flush``) once the database is back.

The service creates one ``QueueRuntime`` per engine and puts it in the call environment
(``CallEnv.queues``); ``AgentTimers`` (``calls.agent_state``) is its one periodic task.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ivr_engine.calls.ports_store import AgentRepo, QueueRepo
from ivr_engine.domain.queue_doc import QueueConfig
from ivr_engine.errors import DatabaseError, DatabaseUnavailable

log = logging.getLogger(__name__)

MAX_DEFERRED = 10_000  # writes kept for a database that stays away; the oldest go first

T = TypeVar("T")
Write = Callable[[], Awaitable[object]]


@dataclass
class QueueRuntime:
    """The queue calls' shared state (see the module docstring). ``queues`` holds queues
    usable without a number's configuration."""

    agents: AgentRepo
    calls: QueueRepo
    node: str = ""
    speed: float = 1.0  # engine clock seconds per wall second
    poll_seconds: float = 1.0  # engine clock seconds between a waiting caller's looks
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    synced: set[tuple[str, str, int]] = field(default_factory=set)
    deferred: deque[tuple[str, Write]] = field(default_factory=deque)
    _drained: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._drained.set()

    def wall(self, clock_seconds: float) -> float:
        """Wall seconds for an interval of the engine's clock."""
        return max(0.0, clock_seconds / self.speed)

    def notify(self) -> None:
        """An agent may have become ready: wake the waiting callers of this engine."""
        self.wake.set()
        self.wake = asyncio.Event()

    async def record(self, what: str, write: Callable[[], Awaitable[T]]) -> T | None:
        """Run a write that records what happened and return its result. When the database
        is unavailable it is kept and written later (``flush``) and None is returned; any
        other database failure is logged (None)."""
        if self.deferred:  # keep the order: earlier writes are still waiting
            self.defer(what, write)
            return None
        try:
            return await write()
        except DatabaseUnavailable as exc:
            log.warning("%s: database unavailable (%s); written once it is back", what, exc)
            self.defer(what, write)
        except DatabaseError as exc:
            log.error("%s failed: %s", what, exc)
        return None

    def defer(self, what: str, write: Write) -> None:
        """Keep a write for later (``flush``)."""
        if len(self.deferred) >= MAX_DEFERRED:
            lost, _ = self.deferred.popleft()
            log.error("dropping a deferred write (%s): too many waiting", lost)
        self.deferred.append((what, write))
        self._drained.clear()

    async def flush(self) -> int:
        """Write the deferred writes in order until the database refuses again; returns how
        many were written (or dropped as failed for good)."""
        done = 0
        while self.deferred:
            what, write = self.deferred[0]
            try:
                await write()
            except DatabaseUnavailable:
                return done
            except DatabaseError as exc:
                log.error("deferred %s failed: %s", what, exc)
            self.deferred.popleft()
            done += 1
        self._drained.set()
        return done

    async def drained(self) -> None:
        """Return once no write is waiting for the database."""
        await self._drained.wait()
