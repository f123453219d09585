"""Callback requests as data: a caller asked to be called back (from a menu or a queue);
an agent is assigned and calls back through the engine. Pure; ``store.callbacks`` keeps
them in Postgres."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ivr_engine.domain.numbers import mask


class CallbackStatus(StrEnum):
    """Where a callback request is."""

    OPEN = "open"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


PENDING = (CallbackStatus.OPEN, CallbackStatus.ASSIGNED)


@dataclass(frozen=True)
class CallbackRequest:
    """One callback request."""

    id: int
    tenant_id: str
    number: str
    caller: str
    source: str
    queue: str | None
    status: CallbackStatus
    agent: str | None
    repeats: int
    attempts: int
    last_result: str | None
    note: str
    requested_at: datetime
    assigned_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CallbackRequest:
        """A request from a ``callback_requests`` row."""
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            number=row["number"],
            caller=row["caller"],
            source=row["source"],
            queue=row["queue"],
            status=CallbackStatus(row["status"]),
            agent=row["agent"],
            repeats=row["repeats"],
            attempts=row["attempts"],
            last_result=row["last_result"],
            note=row["note"],
            requested_at=row["requested_at"],
            assigned_at=row["assigned_at"],
            completed_at=row["completed_at"],
        )

    @property
    def masked_caller(self) -> str:
        """The caller's number as logs and listings show it."""
        return mask(self.caller)
