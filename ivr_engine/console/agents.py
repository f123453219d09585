"""The agents board and its live feed: ``GET /agents`` and ``GET /agents/events``, a
Server-Sent Events stream that pushes every state change of an agent in reach.

Agent rows announce their changes on ``NOTIFY ivr_agents`` (a trigger, so a change made by
any engine or by the CLI is seen); one LISTEN connection of the process fans them out to
every open board. Each event is the agent re-read through the viewer's reach, so a stream
never carries another tenant's agent.

    event: agent
    data: {"id": "haneul-kim", "state": "ready", "since": "2026-11-20 12:00 +09:00", ...}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import asyncpg
from aiohttp import web

from ivr_engine.console import queries
from ivr_engine.console.web import ConsolePage, ConsoleRoutes

log = logging.getLogger(__name__)
CHANNEL = "ivr_agents"
KEEPALIVE_SECONDS = 15.0
pages = ConsoleRoutes()


class AgentFeed:
    """One LISTEN on ``ivr_agents`` shared by every open stream of the process."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: Any = None
        self._subscribers: set[asyncio.Queue[str]] = set()
        self._lock = asyncio.Lock()

    async def subscribe(self) -> asyncio.Queue[str]:
        """A queue that receives the id of every agent that changes from now on."""
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._pool.acquire()
                await self._conn.add_listener(CHANNEL, self._on_notify)
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop delivering to ``queue``."""
        self._subscribers.discard(queue)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(payload)

    async def stop(self) -> None:
        """End every open stream and give the LISTEN connection back."""
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait("")  # the end of the stream
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(CHANNEL, self._on_notify)
                await self._pool.release(conn)


feed_key = web.AppKey("console_agent_feed", AgentFeed)


def agent_json(page: ConsolePage, row: dict[str, Any]) -> dict[str, Any]:
    """An agent as the board shows it."""
    return {
        "id": row["id"],
        "tenant": row["tenant_id"],
        "name": row["name"],
        "state": row["state"],
        "reason": row["reason"],
        "since": page.when(row["state_since"]),
        "reachable": bool(row["reachable"]),
        "queues": row["queues"],
    }


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@pages.get("/agents", "agents.read")
async def board(page: ConsolePage) -> web.StreamResponse:
    """``GET /agents``: every agent in reach with its state, updated live."""
    async with page.ctx.pool.acquire() as conn:
        rows = await queries.list_agents(conn, page.reach)
    return page.render("agents.html", agents=[agent_json(page, r) for r in rows])


@pages.get("/agents/events", "agents.read")
async def events(page: ConsolePage) -> web.StreamResponse:
    """``GET /agents/events``: the agents now, then each change as it happens."""
    feed = page.request.app[feed_key]
    queue = await feed.subscribe()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(page.request)
    try:
        async with page.ctx.pool.acquire() as conn:
            rows = await queries.list_agents(conn, page.reach)
        await response.write(b"retry: 3000\n\n")
        for row in rows:
            await response.write(sse("agent", agent_json(page, row)))
        while True:
            try:
                agent_id = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if not agent_id:
                break  # the server is stopping
            async with page.ctx.pool.acquire() as conn:
                changed = await queries.get_agent(conn, page.reach, agent_id)
            if changed is not None:
                await response.write(sse("agent", agent_json(page, changed)))
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        feed.unsubscribe(queue)
    return response
