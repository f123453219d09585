"""Callback requests in Postgres: registered with the caller's number, listed, assigned to
an agent, and completed once the agent has called back through the engine.

A caller has at most one pending (open or assigned) request per virtual number; asking
again while one is pending returns that request and counts a repeat. Times default to
``ivr_now()``; the engine may pass its own clock's time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The request types live in domain.callbacks; re-exported for the commands and tests.
from ivr_engine.domain.callbacks import PENDING as PENDING
from ivr_engine.domain.callbacks import CallbackRequest as CallbackRequest
from ivr_engine.domain.callbacks import CallbackStatus as CallbackStatus
from ivr_engine.domain.numbers import NumberKind, mask, parse_number
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.store.executor import Executor
from ivr_engine.store.queries import queries

NOTE_MAX = 1024


def _caller_digits(caller: str) -> str:
    """The caller's national digits; a request needs a number to call back."""
    try:
        parsed = parse_number(caller)
    except ValidationError:
        raise ValidationError(
            f"{mask(caller)} is not a phone number to call back", "caller"
        ) from None
    if parsed.kind is NumberKind.ANONYMOUS or not parsed.digits:
        raise ValidationError("an anonymous caller cannot be called back", "caller")
    return parsed.digits


async def register_callback(
    pool: Executor,
    *,
    tenant_id: str,
    number: str,
    caller: str,
    source: str,
    queue: str | None = None,
    at: datetime | None = None,
) -> int:
    """Register a callback request (or count a repeat of the caller's pending one for this
    number); returns the request's id."""
    row = await pool.fetchrow(
        queries()["callback_register"], tenant_id, number, _caller_digits(caller), source, queue, at
    )
    assert row is not None
    return int(row["id"])


async def get_callback(db: Executor, request_id: int) -> CallbackRequest:
    """One request; NotFoundError when there is none with that id."""
    row = await db.fetchrow(queries()["callback_get"], request_id)
    if row is None:
        raise NotFoundError(f"no callback request {request_id}")
    return CallbackRequest.from_row(row)


async def list_callbacks(
    db: Executor,
    *,
    tenant_id: str | None = None,
    statuses: Sequence[CallbackStatus] = PENDING,
    limit: int = 100,
) -> list[CallbackRequest]:
    """Requests in the given statuses (pending by default), oldest first."""
    rows = await db.fetch(queries()["callback_list"], tenant_id, [s.value for s in statuses], limit)
    return [CallbackRequest.from_row(r) for r in rows]


async def _change(db: Executor, query: str, request_id: int, *args: Any) -> CallbackRequest:
    """Run an update that only applies to a pending request."""
    row = await db.fetchrow(queries()[query], request_id, *args)
    if row is not None:
        return CallbackRequest.from_row(row)
    current = await get_callback(db, request_id)  # NotFoundError when missing
    raise ConflictError(f"callback request {request_id} is already {current.status.value}")


async def assign_callback(
    db: Executor, request_id: int, agent: str, at: datetime | None = None
) -> CallbackRequest:
    """Assign a pending request to an agent (an agent id or a phone); reassigning is
    allowed, a finished request is a ConflictError."""
    if not agent.strip():
        raise ValidationError("name the agent who calls back", "agent")
    return await _change(db, "callback_assign", request_id, agent.strip(), at)


async def complete_callback(
    db: Executor,
    request_id: int,
    *,
    note: str = "",
    cancelled: bool = False,
    at: datetime | None = None,
) -> CallbackRequest:
    """Mark a pending request completed (or cancelled) with an optional note."""
    if len(note) > NOTE_MAX:
        raise ValidationError(f"the note has {len(note)} characters; at most {NOTE_MAX}", "note")
    status = CallbackStatus.CANCELLED if cancelled else CallbackStatus.COMPLETED
    return await _change(db, "callback_complete", request_id, status.value, note, at)


async def record_attempt(
    db: Executor,
    request_id: int,
    result: str,
    at: datetime | None = None,
    *,
    agent: str | None = None,
    cause: int | None = None,
    talk_seconds: float | None = None,
) -> CallbackRequest:
    """Count one call-back made through the engine and its result, and keep the attempt
    (agent, hangup cause, talk time) in the request's history."""
    if not result:
        raise ValidationError("an attempt needs a result", "result")
    row = await db.fetchrow(
        queries()["callback_attempt"], request_id, result, at, agent, cause, talk_seconds
    )
    if row is None:
        raise NotFoundError(f"no callback request {request_id}")
    return CallbackRequest.from_row(row)


@dataclass(frozen=True)
class CallbackAttempt:
    """One call-back made for a request."""

    id: int
    request_id: int
    agent: str | None
    result: str
    cause: int | None
    talk_seconds: float | None
    attempted_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CallbackAttempt:
        """An attempt from a ``callback_attempts`` row."""
        return cls(
            id=row["id"],
            request_id=row["request_id"],
            agent=row["agent"],
            result=row["result"],
            cause=row["cause"],
            talk_seconds=row["talk_seconds"],
            attempted_at=row["attempted_at"],
        )


async def list_attempts(db: Executor, request_id: int) -> list[CallbackAttempt]:
    """The call-backs made for a request, oldest first."""
    rows = await db.fetch(queries()["callback_attempts"], request_id)
    return [CallbackAttempt.from_row(r) for r in rows]


async def record_call_back(
    db: Executor,
    request_id: int,
    result: str,
    *,
    completed: bool,
    agent: str | None = None,
    cause: int | None = None,
    talk_seconds: float | None = None,
    note: str = "",
    at: datetime | None = None,
) -> CallbackRequest:
    """Record a call-back's attempt and, when agent and customer talked, complete the
    request. A request finished meanwhile by someone else keeps its status: the attempt is
    still recorded."""
    request = await record_attempt(
        db, request_id, result, at, agent=agent, cause=cause, talk_seconds=talk_seconds
    )
    if not completed or request.status not in PENDING:
        return request
    try:
        return await complete_callback(db, request_id, note=note, at=at)
    except ConflictError:
        return await get_callback(db, request_id)
