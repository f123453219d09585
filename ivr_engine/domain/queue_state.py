"""What the queue store hands the live queue calls: claimed agents, a queue's momentary
view, a caller's row, and the live picture of every queue. Plain data, no I/O: the store
builds these from its rows, ``calls/`` works with them through its ports."""

from __future__ import annotations

from dataclasses import dataclass

from ivr_engine.domain.acd import Candidate


@dataclass(frozen=True)
class ClaimedAgent:
    """An agent claimed for one call (now ``ringing``), with where and how long to ring."""

    id: str
    endpoint: str
    ring_seconds: int | None
    offer_id: int


@dataclass(frozen=True)
class QueueView:
    """What distribution needs to know about a queue at one moment."""

    candidates: tuple[Candidate, ...]
    logged_in: int
    ready: int
    last_agent: str | None
    sticky_agent: str | None


@dataclass(frozen=True)
class Stay:
    """A caller's row in a queue."""

    row_id: int
    position: int  # on entry


@dataclass(frozen=True)
class LiveQueue:
    """A queue right now: callers waiting and the oldest one's wait."""

    tenant_id: str
    queue_id: str
    waiting: int
    longest_wait: float
