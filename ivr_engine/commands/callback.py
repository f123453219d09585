"""``ivr-engine callback list | assign | complete | call``: callback requests left by
callers, and calling a customer back through Asterisk."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg

from ivr_engine.app import open_database
from ivr_engine.asterisk.ari.client import AriClient
from ivr_engine.asterisk.ari.stream import EventStream
from ivr_engine.calls.callback_dialer import CallbackResult, agent_dial_string, call_back
from ivr_engine.commands.times import TenantZones, load_zones
from ivr_engine.domain.numbers import format_number
from ivr_engine.errors import ConfigError, ConflictError, ValidationError
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.agents import list_agents
from ivr_engine.store.callbacks import (
    PENDING,
    CallbackRequest,
    CallbackStatus,
    assign_callback,
    complete_callback,
    get_callback,
    list_callbacks,
    record_call_back,
)


def format_request(request: CallbackRequest, zones: TenantZones) -> str:
    """One request on one line, the caller's number masked, the time in the tenant's zone."""
    when = zones.show(request.requested_at, request.tenant_id, seconds=False)
    parts = [
        f"#{request.id}",
        when,
        request.status.value,
        request.tenant_id,
        format_number(request.number),
        request.masked_caller,
        f"via {request.source}",
    ]
    if request.queue:
        parts.append(f"queue {request.queue}")
    if request.agent:
        parts.append(f"agent {request.agent}")
    if request.repeats:
        parts.append(f"asked {request.repeats + 1} times")
    if request.note:
        parts.append(f"note: {request.note}")
    return "  ".join(parts)


async def list_command(
    settings: Settings, tenant: str | None, every: bool, limit: int
) -> list[CallbackRequest]:
    """Pending requests (every request with ``every``), oldest first."""
    statuses = tuple(CallbackStatus) if every else PENDING
    async with open_database(settings, max_size=1) as db:
        return await list_callbacks(db.pool, tenant_id=tenant, statuses=statuses, limit=limit)


async def assign_command(settings: Settings, request_id: int, agent: str) -> CallbackRequest:
    """Assign a request to the agent who will call back."""
    async with open_database(settings, max_size=1) as db:
        return await assign_callback(db.pool, request_id, agent)


async def complete_command(
    settings: Settings, request_id: int, note: str, cancelled: bool
) -> CallbackRequest:
    """Mark a request completed (or cancelled)."""
    async with open_database(settings, max_size=1) as db:
        return await complete_callback(db.pool, request_id, note=note, cancelled=cancelled)


def callback_app(settings: Settings, request_id: int) -> str:
    """The Stasis app a call-back runs as: its own, so the serving engine (and another
    call-back running at the same time) is never displaced or sent its channels."""
    return f"{settings.ari.app}-callback-{request_id}"


async def _agent_endpoint(
    pool: asyncpg.Pool, request: CallbackRequest, agent: str | None, trunk: str
) -> str:
    """The dial string of the agent who calls back: ``--agent`` or the assigned agent; an
    agent id of the request's tenant stands for its endpoint."""
    name = (agent or request.agent or "").strip()
    if not name:
        raise ValidationError(
            "name the agent who calls back (--agent), or assign the request first", "agent"
        )
    for row in await list_agents(pool, request.tenant_id):
        if row["id"] == name:
            name = row["endpoint"]
            break
    return agent_dial_string(name, trunk)


@asynccontextmanager
async def connected_ari(
    settings: Settings,
    app: str,
    timeout: float,  # noqa: ASYNC109
) -> AsyncIterator[tuple[AriClient, EventStream]]:
    """An ARI client and an events stream registered as ``app``, closed afterwards."""
    url = settings.ari.url
    if not url:
        raise ConfigError("calling back needs Asterisk: set the ARI url (ari.url or IVR_ARI_URL)")
    ari = AriClient(url, settings.ari.user, settings.ari.password)
    stream = EventStream(url, settings.ari.user, settings.ari.password, app)
    try:
        await stream.start()
        try:
            await stream.wait_connected(timeout)
        except TimeoutError:
            raise ConfigError(
                f"cannot reach ARI at {url} as app {app}: {stream.health.last_error or 'no answer'}"
            ) from None
        yield ari, stream
    finally:
        await stream.stop()
        await ari.close()


async def call_command(
    settings: Settings,
    request_id: int,
    agent: str | None = None,
    ring_seconds: int = 30,
    *,
    clock: Callable[[], datetime] | None = None,
    connect_timeout: float = 10.0,
) -> tuple[CallbackResult, CallbackRequest]:
    """Call a request's customer back through an agent, then record the attempt (and
    complete the request when they talked). Returns the outcome and the updated request."""
    now = clock or (lambda: datetime.now(UTC))
    async with open_database(settings, max_size=2) as db:
        request = await get_callback(db.pool, request_id)
        if request.status not in PENDING:
            raise ConflictError(f"callback request {request_id} is already {request.status.value}")
        endpoint = await _agent_endpoint(db.pool, request, agent, settings.ari.trunk)
        app = callback_app(settings, request_id)
        async with connected_ari(settings, app, connect_timeout) as (ari, stream):
            result = await call_back(
                ari,
                stream,
                app=app,
                trunk=settings.ari.trunk,
                request=request,
                agent_endpoint=endpoint,
                ring_seconds=ring_seconds,
                clock=now,
            )
        updated = await record_call_back(
            db.pool,
            request_id,
            result.outcome.value,
            completed=result.completed,
            agent=endpoint,
            cause=result.cause,
            talk_seconds=result.talk_seconds if result.completed else None,
            at=now(),
        )
    return result, updated


def _print(settings: Settings, requests: list[CallbackRequest]) -> None:
    """Print requests, each in its tenant's zone."""
    zones = asyncio.run(load_zones(settings))
    for request in requests:
        print(format_request(request, zones))


def _list(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    found = asyncio.run(list_command(settings, args.tenant, args.all, args.limit))
    _print(settings, found)
    print(f"{len(found)} request(s)")
    return 0


def _assign(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    _print(settings, [asyncio.run(assign_command(settings, args.id, args.agent))])
    return 0


def _complete(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    request = asyncio.run(complete_command(settings, args.id, args.note, args.cancel))
    _print(settings, [request])
    return 0


def _call(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    result, request = asyncio.run(call_command(settings, args.id, args.agent, args.ring))
    print(f"#{request.id} {result.describe()}")
    _print(settings, [request])
    return 0 if result.completed else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``callback list | assign | complete | call``."""
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
    q = sub.add_parser(
        "call",
        help="call the customer back: ring the agent, then the "
        "customer (who sees the virtual number), and bridge them",
    )
    q.add_argument("id", type=int)
    q.add_argument(
        "--agent",
        help="PJSIP/<endpoint>, a phone number or an agent id (default: the assigned agent)",
    )
    q.add_argument("--ring", type=int, default=30, help="seconds to ring each party")
    q.set_defaults(func=_call)
