"""The ARI HTTP transport: one pooled aiohttp session, typed errors, an optional observer.

Every REST call goes through ``AriHttp.request``, which builds the query (lists joined by
commas, booleans as ``true``/``false``, ``None`` dropped), maps a failed status to its typed
``AriError`` subclass, and reports latency and outcome to the observer (for metrics).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from ivr_engine.asterisk.ari.errors import AriConnectionError, error_for_status
from ivr_engine.asterisk.ari.ws_rest import WsRest, WsRestNotSent

log = logging.getLogger("ivr_engine.asterisk.ari")

ParamValue = str | int | float | bool | Sequence[str] | None
SLOW_ON_SOCKET = 0.5  # seconds: a request over the events WebSocket this slow is logged


@dataclass(frozen=True, slots=True)
class RequestStat:
    """One finished request, as the observer sees it.

    ``operation`` is a stable name (``channels.play``) suited as a metric label, unlike the
    path, which holds ids. ``status`` is 0 when no HTTP answer came back.
    """

    operation: str
    method: str
    status: int
    seconds: float
    error: str | None = None


Observer = Callable[[RequestStat], None]


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")  # characters quote() leaves alone


def seg(value: str) -> str:
    """Quote one path segment (ids may hold any character but ``/``); channel ids such as
    ``1795310575.1`` need none."""
    return value if _PLAIN.fullmatch(value) else quote(value, safe="")


# Values that need quoting, quoted: the same media lists (a coloring is one sound twenty
# times), endpoints and arguments come back call after call, and quote() works character by
# character in Python. Emptied when full, so unique values cannot make it grow.
_QUOTED: dict[str, str] = {}
_QUOTED_MAX = 2048


def _quoted(value: str) -> str:
    """``value`` percent-encoded for a query string (every reserved character quoted)."""
    encoded = _QUOTED.get(value)
    if encoded is None:
        if len(_QUOTED) >= _QUOTED_MAX:
            _QUOTED.clear()
        encoded = _QUOTED[value] = quote(value, safe="")
    return encoded


def query_string(params: Mapping[str, ParamValue]) -> str:
    """The encoded query string of ARI parameters (see ``query``), built without urlencode:
    ids and numbers go as they are, everything else quoted."""
    plain = _PLAIN.fullmatch
    return "&".join([f"{k}={v if plain(v) else _quoted(v)}" for k, v in query(params).items()])


def query(params: Mapping[str, ParamValue]) -> dict[str, str]:
    """ARI query parameters: drop None, booleans lower-case, sequences comma-joined."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[key] = str(value)
        else:
            out[key] = ",".join(value)
    return out


class AriHttp:
    """Owns the HTTP session to one Asterisk's ``/ari`` and sends requests on it."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        max_connections: int = 64,
        observer: Observer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": basic_auth(user, password)}
        self.timeout = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.observer = observer
        self._max_connections = max_connections
        self._session = session
        self._own_session = session is None
        # REST over the events WebSocket, when the stream offers it (``use_websocket``).
        self.ws: WsRest | None = None
        self.slow_on_socket = SLOW_ON_SOCKET

    def use_websocket(self, ws: WsRest | None) -> None:
        """Send the operations Asterisk handles without waiting (``WS_OPERATIONS``) over the
        events WebSocket while it answers them; everything else, and everything while it
        does not, over HTTP."""
        self.ws = ws

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use (inside the running loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=30.0, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AriHttp:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        reply_timeout: float | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON (None for 204) or raise an AriError."""
        qs = query_string(params) if params else ""
        ws = self.ws
        if ws is not None and ws.carries(operation):
            try:
                return await self._over_websocket(
                    ws, operation, method, path, qs, body, reply_timeout
                )
            except WsRestNotSent:
                pass  # never left: HTTP carries it instead
        # An already encoded URL spares aiohttp (yarl) parsing and re-quoting it.
        url = URL(f"{self.base_url}{path}?{qs}" if qs else f"{self.base_url}{path}", encoded=True)
        started = time.perf_counter()
        status = 0
        timeout = (
            self._timeout if reply_timeout is None else aiohttp.ClientTimeout(total=reply_timeout)
        )
        try:
            async with self.session.request(
                method,
                url,
                json=body,
                headers=self.headers,
                timeout=timeout,
            ) as resp:
                status = resp.status
                text = await resp.text()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._observe(operation, method, 0, started, type(exc).__name__)
            raise AriConnectionError(f"{type(exc).__name__}: {exc}", method, path) from exc
        return self._result(operation, method, path, status, text, started)

    async def _over_websocket(
        self,
        ws: WsRest,
        operation: str,
        method: str,
        path: str,
        qs: str,
        body: Mapping[str, Any] | None,
        reply_timeout: float | None,
    ) -> Any:
        """One request as a RESTRequest frame; the same results and errors as over HTTP."""
        uri = f"{path[1:]}?{qs}" if qs else path[1:]
        started = time.perf_counter()
        try:
            reply = await ws.send(
                method, uri, body, timeout=self.timeout if reply_timeout is None else reply_timeout
            )
        except WsRestNotSent:
            raise
        except (TimeoutError, ConnectionError) as exc:
            self._observe(operation, method, 0, started, type(exc).__name__)
            raise AriConnectionError(
                f"{type(exc).__name__}: {exc or 'no reply'} (over the WebSocket)", method, path
            ) from exc
        held = time.perf_counter() - started
        if held > self.slow_on_socket:
            # Asterisk answers a socket's requests one at a time: this one kept every other
            # call's requests waiting (a channel busy with a playback, or Asterisk overloaded).
            log.warning(
                "ARI %s %s took %.0f ms on the events WebSocket, holding up the requests behind it",
                method,
                path,
                held * 1000,
            )
        return self._result(operation, method, path, reply.status, reply.body or "", started)

    def _result(
        self, operation: str, method: str, path: str, status: int, text: str, started: float
    ) -> Any:
        """Decode a reply: the JSON body, None for none, the typed error for a failure."""
        if status >= 400:
            err = error_for_status(status, _message(text), method, path)
            self._observe(operation, method, status, started, type(err).__name__)
            raise err
        self._observe(operation, method, status, started, None)
        if status == 204 or not text:
            return None
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise error_for_status(502, f"non-JSON reply: {text[:80]!r}", method, path) from exc

    def _observe(
        self, operation: str, method: str, status: int, started: float, error: str | None
    ) -> None:
        """Report one request to the observer; an observer failure never fails the call."""
        if self.observer is None:
            return
        try:
            self.observer(
                RequestStat(operation, method, status, time.perf_counter() - started, error)
            )
        except Exception:
            log.exception("ARI request observer failed")


def _message(text: str) -> str:
    """Asterisk's error message: the ``message`` of a JSON body, else the (short) text."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])
    return text.strip()[:200]
