"""What the queue calls of one engine share: the repositories, the instance name, the clock
speed, how often a waiting caller looks for an agent, and the wake-up that tells waiting
callers an agent may have become ready.

The service creates one ``QueueRuntime`` per engine and puts it in the call environment
(``CallEnv.queues``); ``AgentTimers`` (``calls.agent_state``) is its one periodic task.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ivr_engine.calls.ports_store import AgentRepo, QueueRepo
from ivr_engine.domain.queue_doc import QueueConfig


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

    def wall(self, clock_seconds: float) -> float:
        """Wall seconds for an interval of the engine's clock."""
        return max(0.0, clock_seconds / self.speed)

    def notify(self) -> None:
        """An agent may have become ready: wake the waiting callers of this engine."""
        self.wake.set()
        self.wake = asyncio.Event()
