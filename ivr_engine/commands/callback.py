"""``ivr-engine callback list | assign | complete``: callback requests left by callers."""

from __future__ import annotations

import argparse
import asyncio

from ivr_engine.app import open_database
from ivr_engine.domain.numbers import format_number
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.callbacks import (
    PENDING,
    CallbackRequest,
    CallbackStatus,
    assign_callback,
    complete_callback,
    list_callbacks,
)


def format_request(request: CallbackRequest) -> str:
    """One request on one line, the caller's number masked."""
    when = request.requested_at.strftime("%Y-%m-%d %H:%M")
    parts = [f"#{request.id}", when, request.status.value, request.tenant_id,
             format_number(request.number), request.masked_caller, f"via {request.source}"]
    if request.queue:
        parts.append(f"queue {request.queue}")
    if request.agent:
        parts.append(f"agent {request.agent}")
    if request.repeats:
        parts.append(f"asked {request.repeats + 1} times")
    if request.note:
        parts.append(f"note: {request.note}")
    return "  ".join(parts)


async def list_command(settings: Settings, tenant: str | None, every: bool,
                       limit: int) -> list[CallbackRequest]:
    """Pending requests (every request with ``every``), oldest first."""
    statuses = tuple(CallbackStatus) if every else PENDING
    async with open_database(settings, max_size=1) as db:
        return await list_callbacks(db.pool, tenant_id=tenant, statuses=statuses, limit=limit)


async def assign_command(settings: Settings, request_id: int, agent: str) -> CallbackRequest:
    """Assign a request to the agent who will call back."""
    async with open_database(settings, max_size=1) as db:
        return await assign_callback(db.pool, request_id, agent)


async def complete_command(settings: Settings, request_id: int, note: str,
                           cancelled: bool) -> CallbackRequest:
    """Mark a request completed (or cancelled)."""
    async with open_database(settings, max_size=1) as db:
        return await complete_callback(db.pool, request_id, note=note, cancelled=cancelled)


def _list(args: argparse.Namespace) -> int:
    found = asyncio.run(list_command(load_settings(args.config), args.tenant, args.all,
                                     args.limit))
    for request in found:
        print(format_request(request))
    print(f"{len(found)} request(s)")
    return 0


def _assign(args: argparse.Namespace) -> int:
    request = asyncio.run(assign_command(load_settings(args.config), args.id, args.agent))
    print(format_request(request))
    return 0


def _complete(args: argparse.Namespace) -> int:
    request = asyncio.run(complete_command(load_settings(args.config), args.id, args.note,
                                           args.cancel))
    print(format_request(request))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``callback list | assign | complete``."""
    p = subparsers.add_parser("callback", help="callback requests left by callers")
    sub = p.add_subparsers(dest="callback_command", metavar="ACTION", required=True)
    q = sub.add_parser("list", help="pending requests, oldest first")
    q.add_argument("--tenant", help="only this tenant's requests")
    q.add_argument("--all", action="store_true", help="completed and cancelled ones too")
    q.add_argument("--limit", type=int, default=100)
    q.set_defaults(func=_list)
    q = sub.add_parser("assign", help="assign a request to the agent who calls back")
    q.add_argument("id", type=int)
    q.add_argument("agent", help="agent id or phone number")
    q.set_defaults(func=_assign)
    q = sub.add_parser("complete", help="mark a request done (after calling back)")
    q.add_argument("id", type=int)
    q.add_argument("--note", default="", help="what came of it (up to 1024 characters)")
    q.add_argument("--cancel", action="store_true", help="cancelled rather than completed")
    q.set_defaults(func=_complete)
