"""An SMS gateway on loopback for tests and benchmarks: a real aiohttp server that
speaks the HTTP JSON shape ``HttpGatewayProvider`` sends.

It dedupes by idempotency key like a real gateway: the first request with a key is a
delivery, later ones get the same answer without a second delivery. It can be made slow
(``delay``), hold requests until released (``hold``: the text is delivered on receipt,
the answer waits), fail with a status (``fail_status``, or ``fail_next`` for the next
requests only), or never answer in time (``hang``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

KEY_HEADER = "Idempotency-Key"


@dataclass
class GatewayState:
    """What the gateway received and delivered."""

    requests: Counter[str] = field(default_factory=Counter)  # key -> requests
    deliveries: Counter[str] = field(default_factory=Counter)  # key -> deliveries (0 or 1)
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> first body
    order: list[str] = field(default_factory=list)  # keys in delivery order


class FakeGateway:
    """The loopback gateway (see the module docstring)."""

    def __init__(self, *, delay: float = 0.0, token: str = "") -> None:
        self.delay = delay
        self.token = token
        self.fail_status: int | None = None
        self.fail_next: list[int] = []
        self.hang = False
        self.hold: asyncio.Event | None = None
        self.state = GatewayState()
        self._received = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen on a free loopback port; returns the send URL."""
        app = web.Application()
        app.router.add_post("/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/send"
        return self.url

    async def stop(self) -> None:
        """Stop serving."""
        self._stopping.set()
        if self.hold is not None:
            self.hold.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def total_requests(self) -> int:
        """Requests received so far."""
        return sum(self.state.requests.values())

    async def wait_requests(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until at least ``count`` requests arrived."""
        async with asyncio.timeout(timeout), self._received:
            await self._received.wait_for(lambda: self.total_requests >= count)

    async def wait_deliveries(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until at least ``count`` distinct texts were delivered."""
        async with asyncio.timeout(timeout), self._received:
            await self._received.wait_for(lambda: len(self.state.deliveries) >= count)

    async def _send(self, request: web.Request) -> web.StreamResponse:
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        key = request.headers.get(KEY_HEADER) or str(body.get("key", ""))
        status = self.fail_next.pop(0) if self.fail_next else self.fail_status
        async with self._received:
            self.state.requests[key] += 1
            if status is None and key not in self.state.deliveries:
                self.state.deliveries[key] += 1
                self.state.payloads[key] = body
                self.state.order.append(key)
            self._received.notify_all()
        if self.hang:
            await self._stopping.wait()  # never answers while it runs
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.hold.wait()
        if status is not None:
            return web.json_response({"error": f"failing with {status}"}, status=status)
        return web.json_response({"message_id": f"gw-{key}"})
