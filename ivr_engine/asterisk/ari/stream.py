"""``EventStream``: the app's events WebSocket, kept connected, with a health state.

One WebSocket per application (``/ari/events?app=...&subscribeAll=false``, Basic auth). When
it drops, it reconnects with capped exponential backoff and full jitter; the on-connect
callbacks run again each time (the engine re-sets the app's eventFilter and adopts channels
there: the filter belongs to the app and outlives the socket). Junk frames are logged and
skipped; the stream keeps going. Events are parsed and handed to the ``Dispatcher``;
``RESTResponse`` frames, the replies to requests sent on the socket, go to ``self.rest``
(``ws_rest.WsRest``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
import orjson

from ivr_engine.asterisk.ari.events import parse_event
from ivr_engine.asterisk.ari.http import basic_auth
from ivr_engine.asterisk.ari.waiters import Dispatcher
from ivr_engine.asterisk.ari.ws_rest import RESPONSE_EVENT, WsRest

log = logging.getLogger("ivr_engine.asterisk.ari")


def _raw_writer(ws: aiohttp.ClientWebSocketResponse) -> Callable[[bytes], None] | None:
    """The socket's transport ``write``, for requests written as ready-made frames, several
    per system call (aiohttp keeps the transport on its frame writer); None if it does not."""
    transport = getattr(getattr(ws, "_writer", None), "transport", None)
    write = getattr(transport, "write", None)
    return write if callable(write) else None


class StreamState(enum.StrEnum):
    """Where the events WebSocket is."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth_failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """A snapshot for readiness checks: state, since when (epoch s), counts, last error."""

    state: StreamState
    since: float
    connects: int
    reconnects: int
    failed_attempts: int
    last_error: str | None
    events: int
    junk_frames: int

    @property
    def ready(self) -> bool:
        """True while events flow."""
        return self.state is StreamState.CONNECTED


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**n))``."""

    base: float = 0.2
    cap: float = 15.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt number ``attempt`` (0-based)."""
        return self.rng.uniform(0.0, min(self.cap, self.base * 2.0 ** min(attempt, 32)))


StreamCallback = Callable[["EventStream"], Awaitable[None]]


class EventStream(Dispatcher):
    """Receives one app's events and dispatches them (see ``Dispatcher`` for subscribing)."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str | Sequence[str],
        *,
        session: aiohttp.ClientSession | None = None,
        subscribe_all: bool = False,
        backoff: Backoff | None = None,
        heartbeat: float | None = 20.0,
        connect_timeout: float = 10.0,
        stable_after: float = 5.0,
        rest_over_websocket: bool = True,
    ) -> None:
        super().__init__()
        # Requests sent on this socket (see ws_rest.py); AriClient.use_websocket(stream.rest).
        self.rest = WsRest(enabled=rest_over_websocket)
        self.app = app if isinstance(app, str) else ",".join(app)
        self.url = f"{base_url.rstrip('/')}/events"
        self._params = {"app": self.app, "subscribeAll": "true" if subscribe_all else "false"}
        self._headers = {"Authorization": basic_auth(user, password)}
        self._session = session
        self._own_session = session is None
        self.backoff = backoff or Backoff()
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        self.stable_after = stable_after
        self._on_connect: list[StreamCallback] = []
        self._on_disconnect: list[StreamCallback] = []
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._state = StreamState.IDLE
        self._since = time.time()
        self._connects = 0
        self._failed = 0
        self._last_error: str | None = None
        self._events = 0
        self._junk = 0

    # -- public -----------------------------------------------------------------------------
    def on_connect(self, callback: StreamCallback) -> None:
        """Run ``await callback(stream)`` after every (re)connect, alongside event reading."""
        self._on_connect.append(callback)

    def on_disconnect(self, callback: StreamCallback) -> None:
        """Run ``await callback(stream)`` after every loss of the socket."""
        self._on_disconnect.append(callback)

    @property
    def health(self) -> StreamHealth:
        """The current health snapshot."""
        return StreamHealth(
            self._state,
            self._since,
            self._connects,
            max(0, self._connects - 1),
            self._failed,
            self._last_error,
            self._events,
            self._junk,
        )

    async def start(self) -> None:
        """Start connecting in the background (returns at once; see ``wait_connected``)."""
        if self._task is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            self._task = asyncio.create_task(self._run(), name=f"ari-events-{self.app}")

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once the socket is up; TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def stop(self) -> None:
        """Close the socket, stop reconnecting and cancel pending callbacks."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for cb_task in list(self._callback_tasks):
            cb_task.cancel()
        await asyncio.gather(*self._callback_tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
        self._set_state(StreamState.STOPPED)

    # -- connection loop ---------------------------------------------------------------------
    def _set_state(self, state: StreamState, error: str | None = None) -> None:
        if state is not self._state:
            self._state = state
            self._since = time.time()
        if error is not None:
            self._last_error = error

    async def _run(self) -> None:
        """Connect, read until the socket drops, back off, repeat (until stopped)."""
        attempt = 0
        self._set_state(StreamState.CONNECTING)
        while True:
            started = time.monotonic()
            opened = await self._connect_and_read()
            if opened and time.monotonic() - started >= self.stable_after:
                attempt = 0
            delay = self.backoff.delay(attempt)
            attempt += 1
            log.info("ARI events: reconnecting in %.2f s (attempt %d)", delay, attempt)
            await asyncio.sleep(delay)

    async def _connect_and_read(self) -> bool:
        """One connection's life. True if the socket opened."""
        assert self._session is not None
        try:
            async with asyncio.timeout(self.connect_timeout):
                ws = await self._session.ws_connect(
                    self.url,
                    params=self._params,
                    headers=self._headers,
                    heartbeat=self.heartbeat,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self.connect_timeout),
                )
        except aiohttp.WSServerHandshakeError as exc:
            self._failed += 1
            if exc.status in (401, 403):
                log.error(
                    "ARI events: authentication failed (%s) for app %s at %s; check the "
                    "ARI user and password",
                    exc.status,
                    self.app,
                    self.url,
                )
                self._set_state(StreamState.AUTH_FAILED, f"HTTP {exc.status}: auth failed")
            else:
                log.warning("ARI events: handshake refused: HTTP %s %s", exc.status, exc.message)
                self._set_state(StreamState.RECONNECTING, f"HTTP {exc.status}: {exc.message}")
            return False
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._failed += 1
            log.warning("ARI events: cannot connect to %s: %s", self.url, exc or type(exc).__name__)
            self._set_state(StreamState.RECONNECTING, f"{type(exc).__name__}: {exc}")
            return False
        self._ws = ws
        self._connects += 1
        self._failed = 0
        self._set_state(StreamState.CONNECTED)
        self._connected.set()
        log.info("ARI events: connected for app %s (connect #%d)", self.app, self._connects)
        writer = _raw_writer(ws)
        if writer is not None:
            self.rest.attach(writer)
        else:
            log.info("ARI events: no raw writer on this aiohttp WebSocket; requests use HTTP")
        self._spawn_callbacks(self._on_connect, "on-connect")
        try:
            reason = await self._read(ws)
        finally:
            self.rest.detach()
            self._connected.clear()
            self._ws = None
            await ws.close()
        log.warning("ARI events: connection lost (%s)", reason)
        self._set_state(StreamState.RECONNECTING, reason)
        self._spawn_callbacks(self._on_disconnect, "on-disconnect")
        return True

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Read frames until the socket ends; returns why it ended."""
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self._handle_text(msg.data)
            elif msg.type is aiohttp.WSMsgType.BINARY:
                self._junk += 1
                log.warning("ARI events: skipped a binary frame (%d bytes)", len(msg.data))
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return f"socket error: {ws.exception()}"
        return f"closed by peer (code {ws.close_code})"

    def _handle_text(self, text: str) -> None:
        """Decode, parse and dispatch one text frame; junk is logged and skipped."""
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._junk += 1
            log.warning("ARI events: skipped a frame that is not JSON: %.80r", text)
            return
        if not isinstance(raw, dict):
            self._junk += 1
            log.warning(
                "ARI events: skipped a JSON %s frame (expected an object): %.80r",
                type(raw).__name__,
                text,
            )
            return
        if raw.get("type") == RESPONSE_EVENT:
            self.rest.resolve(raw)
            return
        try:
            event = parse_event(raw)
        except (ValueError, KeyError, TypeError) as exc:
            self._junk += 1
            log.warning("ARI events: skipped a malformed %s event: %s", raw.get("type"), exc)
            return
        self._events += 1
        self.dispatch(event)

    def _spawn_callbacks(self, callbacks: list[StreamCallback], what: str) -> None:
        """Run callbacks as tasks (they may use REST calls and waiters while we keep reading)."""
        for callback in callbacks:
            task = asyncio.create_task(self._guard(callback, what))
            self._callback_tasks.add(task)
            task.add_done_callback(self._callback_tasks.discard)

    async def _guard(self, callback: StreamCallback, what: str) -> None:
        """Run one callback; its failure is logged, never fatal to the stream."""
        try:
            await callback(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ARI events: %s callback failed", what)
