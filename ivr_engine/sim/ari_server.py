"""The simulated ARI HTTP server: auth, URL rules, the events WebSocket and the route table.

Auth is HTTP Basic, else ``api_key=user:password`` in the query; a failure is 401
``{"message":"Authentication required"}`` with ``WWW-Authenticate: Basic realm="Asterisk REST
Interface"``. Auth is checked before the trailing-slash rule (404 "ARI URLs do not end with a
slash. Try /ari/..."). ``/ari/events`` without an Upgrade is 426, an upgrade without ``app``
is 400 text/html, as a real Asterisk 22 answers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from ivr_engine.sim.ari_channels import ChannelsResource
from ivr_engine.sim.ari_events import EventSocket
from ivr_engine.sim.ari_http import AriError, error, html_error
from ivr_engine.sim.ari_rest import OtherResources
from ivr_engine.sim.ari_ws_rest import WsRequests

if TYPE_CHECKING:
    from ivr_engine.sim.world import World

log = logging.getLogger("ivr_engine.sim.ari")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REALM = 'Basic realm="Asterisk REST Interface"'


class AriServer:
    """Builds the aiohttp application that serves /ari (and extra routes such as /sim)."""

    def __init__(
        self,
        world: World,
        user: str,
        password: str,
        *,
        version: str,
        entity_id: str,
        system_name: str = "ivr-sim",
    ) -> None:
        self.world = world
        self.user = user
        self.password = password
        self.version = version
        self.server_header = f"Asterisk/{version}"
        self.channels = ChannelsResource(world)
        self.others = OtherResources(world, version, entity_id, system_name)
        self.sockets: set[web.WebSocketResponse] = set()

    def build(self, extra_routes: list[web.RouteDef] = ()) -> web.Application:  # type: ignore[assignment]
        """The aiohttp application."""
        app = web.Application(middlewares=[self.middleware])
        app.router.add_get("/ari/events", self.events)
        app.add_routes(self.channels.routes())
        app.add_routes(self.others.routes())
        app.add_routes(list(extra_routes))
        app.on_shutdown.append(self._close_sockets)
        self.requests = WsRequests(self.world, self.middleware, app)
        return app

    def authenticated(self, request: web.Request) -> bool:
        """Basic auth first, else the api_key query parameter."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                return False
            user, _, password = decoded.partition(":")
            return (user, password) == (self.user, self.password)
        key = request.query.get("api_key")
        if key is not None:
            user, _, password = key.partition(":")
            return (user, password) == (self.user, self.password)
        return False

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """ARI's request rules: auth, no trailing slash, JSON errors, Server header."""
        if not request.path.startswith("/ari"):
            return await handler(request)
        try:
            if not self.authenticated(request):
                resp: web.StreamResponse = error(401, "Authentication required")
                resp.headers["WWW-Authenticate"] = REALM
            elif request.path.endswith("/") and len(request.path) > 1:
                resp = error(
                    404, f"ARI URLs do not end with a slash. Try {request.path.rstrip('/')}"
                )
            else:
                resp = await handler(request)
        except AriError as exc:
            resp = error(exc.status, exc.message)
        except web.HTTPNotFound:
            resp = error(404, "Resource not found")
        except web.HTTPMethodNotAllowed:
            resp = error(405, "Invalid method")
        if not resp.prepared:
            resp.headers["Server"] = self.server_header
        return resp

    async def events(self, request: web.Request) -> web.StreamResponse:
        """GET /ari/events?app=a[,b]&subscribeAll=: the events WebSocket."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return html_error(426, "Upgrade Required", "", self.server_header)
        apps = [a for a in request.query.get("app", "").split(",") if a]
        if not apps:
            return html_error(
                400, "Bad Request", "HTTP request is missing param: [app]", self.server_header
            )
        subscribe_all = request.query.get("subscribeAll", "false").lower() == "true"
        ws = web.WebSocketResponse(protocols=("ari",), autoping=True)
        await ws.prepare(request)
        sock = EventSocket(ws, apps, subscribe_all)
        self.world.registry.attach(sock, self.world.clock.timestamp())
        self.sockets.add(ws)
        writer = asyncio.create_task(sock.writer())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
                if msg.type == WSMsgType.TEXT:  # one request at a time, as Asterisk reads them
                    await self.requests.handle(request, sock, msg.data)
        finally:
            self.world.registry.detach(sock)
            sock.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self.sockets.discard(ws)
        return ws

    async def _close_sockets(self, app: web.Application) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close()
