"""REST over the events WebSocket, as Asterisk 22.4+ answers it (res/ari/ari_websocket_requests.c).

A text frame ``{"type": "RESTRequest", "request_id", "transaction_id", "method", "uri",
"query_strings"?, "content_type"?, "message_body"?}`` is routed to the same handlers as an
HTTP request and answered with a ``RESTResponse`` event on the same socket:

- requests of one socket run one at a time, in order (Asterisk runs them in the socket's read
  thread), so one that waits behind a playback holds up the next;
- ``uri`` is relative to ``/ari/`` (a leading ``/`` is 405, an ``ari/`` prefix 404); the echoed
  ``uri`` drops the query; ``query_strings`` is a list of ``{"name", "value"}`` appended to it;
- ``message_body`` is a JSON *string*, read as JSON with ``content_type: application/json``,
  as a form with ``application/x-www-form-urlencoded``, else 400 "Unknown content type.";
- the response carries ``content_type`` and ``message_body`` only when there is a body, and
  passes the first application's event filter like any event (an ``allowed`` list without
  ``RESTResponse`` drops it); any other JSON frame gets a 400, non-JSON a 400 with empty ids;
- requests are authorised with the socket's own credentials (its ``api_key`` too, 22.10.1).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web
from yarl import URL

from ivr_engine.asterisk.constants import AriEvent
from ivr_engine.sim.ari_events import EventSocket
from ivr_engine.sim.ari_http import WS_BODY

if TYPE_CHECKING:
    from ivr_engine.sim.world import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The ARI server's request rules (auth, URL rules, JSON errors) around a route's handler.
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

log = logging.getLogger("ivr_engine.sim.ari")

METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"})
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class BadFrame(Exception):
    """A request frame Asterisk refuses before routing it (400 with this message)."""


def _ids(frame: dict[str, Any]) -> tuple[str, str]:
    """transaction_id and request_id as Asterisk echoes them (non-strings become "")."""
    tid, rid = frame.get("transaction_id"), frame.get("request_id")
    return (tid if isinstance(tid, str) else "", rid if isinstance(rid, str) else "")


def _query(frame: dict[str, Any], uri: str) -> tuple[str, list[tuple[str, str]]]:
    """The path part of ``uri`` and the query pairs: the uri's own, then ``query_strings``."""
    path, _, qs = uri.partition("?")
    pairs: list[tuple[str, str]] = []
    if qs:
        pairs.extend(URL(f"/?{qs}", encoded=True).query.items())
    extra = frame.get("query_strings")
    if isinstance(extra, list):
        for item in extra:
            if not (
                isinstance(item, dict)
                and isinstance(item.get("name"), str)
                and isinstance(item.get("value"), str)
            ):
                raise BadFrame("Unable to parse 'query_strings' array.")
            pairs.append((item["name"], item["value"]))
    return path, pairs


def _body(frame: dict[str, Any], pairs: list[tuple[str, str]]) -> bytes | None:
    """The JSON body (form bodies are added to ``pairs``)."""
    body = frame.get("message_body")
    if not isinstance(body, str):  # an object is silently no body, as in Asterisk
        return None
    kind = frame.get("content_type")
    if not isinstance(kind, str) or not kind:
        raise BadFrame("No 'content_type' for 'message_body'.")
    if kind == "application/json":
        return body.encode()
    if kind == "application/x-www-form-urlencoded":
        pairs.extend(URL(f"/?{body}", encoded=True).query.items())
        return None
    raise BadFrame("Unknown content type.")


class WsRequests:
    """Answers the RESTRequest frames of the events WebSockets of one simulated Asterisk."""

    def __init__(self, world: World, middleware: Middleware, app: web.Application) -> None:
        self.world = world
        self.middleware = middleware
        self.app = app

    async def handle(self, upgrade: web.Request, sock: EventSocket, text: str) -> None:
        """Answer one text frame (the caller awaits it before reading the next)."""
        try:
            frame = json.loads(text)
        except ValueError:
            log.warning("WebSocket input failed to parse")
            self._respond(sock, {}, 400, "Failed to parse request message JSON", "", None)
            return
        if not isinstance(frame, dict):
            frame = {}
        raw_uri = frame.get("uri")
        uri = raw_uri if isinstance(raw_uri, str) else ""
        try:
            if "type" not in frame:
                raise BadFrame("No 'type' property.")
            if frame["type"] != AriEvent.REST_REQUEST:
                raise BadFrame("Unknown request type.")
            if not uri:
                raise BadFrame("Empty or missing 'uri' property.")
            method = frame.get("method")
            if method not in METHODS:
                raise BadFrame("Unknown or missing 'method' property.")
            path, pairs = _query(frame, uri)
            body = _body(frame, pairs)
        except BadFrame as exc:
            log.warning("ARI WebSocket request refused: %s", exc)
            self._respond(sock, frame, 400, "Bad request", uri, {"message": str(exc)})
            return
        status, reason, reply = await self._invoke(upgrade, str(method), path, pairs, body)
        self._respond(sock, frame, status, reason, path, reply)

    async def _invoke(
        self,
        upgrade: web.Request,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        body: bytes | None,
    ) -> tuple[int, str, Any]:
        """Route the request like an HTTP one; status, reason and decoded JSON body."""
        if path.startswith("/") or method == "HEAD":
            return 405, "Method Not Allowed", {"message": "Invalid method"}
        if path == "events" or path.startswith("events?"):
            return 400, "Bad Request", {"message": "Can't upgrade to websocket from a websocket"}
        key = upgrade.query.get("api_key")
        if key is not None:  # 22.10.1: the socket's api_key authorises its requests
            pairs = [*pairs, ("api_key", key)]
        qs = urlencode(pairs, quote_via=quote)
        url = URL(f"/ari/{path}?{qs}" if qs else f"/ari/{path}", encoded=True)
        headers = {k: v for k, v in upgrade.headers.items() if k.lower() == "authorization"}
        request = upgrade.clone(method=method, rel_url=url, headers=headers)
        if body is not None:
            request[WS_BODY] = body
        match = await self.app.router.resolve(request)
        match.add_app(self.app)
        match.freeze()
        request._match_info = match  # what aiohttp's own request handling does
        response = await self.middleware(request, match.handler)
        assert isinstance(response, web.Response)
        text = response.text if response.body else None
        return response.status, response.reason, json.loads(text) if text else None

    def _respond(
        self,
        sock: EventSocket,
        frame: dict[str, Any],
        status: int,
        reason: str,
        uri: str,
        body: Any,
    ) -> None:
        tid, rid = _ids(frame)
        event: dict[str, Any] = {
            "type": AriEvent.REST_RESPONSE,
            "transaction_id": tid,
            "request_id": rid,
            "status_code": status,
            "reason_phrase": reason,
            "uri": uri,
        }
        if body is not None:
            event["content_type"] = "application/json"
            event["message_body"] = _DUMPS(body)
        self.world.registry.respond(sock, event, self.world.clock.timestamp())
