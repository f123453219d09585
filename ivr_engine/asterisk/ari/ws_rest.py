"""ARI requests over the events WebSocket ("REST over WebSocket", Asterisk 22.4 and later).

A request is one text frame ``{"type": REQUEST_FRAME, "request_id", "method", "uri",
"content_type"?, "message_body"?}``; Asterisk answers with a ``RESTResponse`` event on the same
socket (``status_code``, ``reason_phrase``, ``message_body`` as a JSON *string*, no body on
204). That spares an HTTP request and its parsing per call step. Facts that shape this
module (read from ``res/ari/ari_websocket_requests.c``):

- Asterisk handles the requests of one socket one at a time, in its read thread: a request
  that waits for the channel's command queue (``answer``, ``addChannel``, ``setVariable``,
  ``ring``, ``moh``... behind a playback) would hold up every other call's requests. Only
  the operations in ``WS_OPERATIONS`` go over the socket: those Asterisk carries out without
  waiting for a channel, and ``answer`` / ``addChannel``, which the engine sends only to
  channels with no playback running; the rest keep their own HTTP request.
- The response passes the application's event filter: an ``allowed`` list must name
  ``RESTResponse`` (``AriClient.set_event_filter`` adds it while this transport is in use).
- An Asterisk without the feature reads and drops the frame silently. So after each connect
  a ``GET asterisk/info`` probe decides: answered within ``probe_timeout`` -> requests use
  the socket; silence -> plain HTTP until the next connect (logged once per connect).
- Nothing orders events against the response: waiters are registered before a request is
  sent, as over HTTP.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ivr_engine.asterisk.constants import AriEvent

log = logging.getLogger("ivr_engine.asterisk.ari")

REQUEST_FRAME = AriEvent.REST_REQUEST
RESPONSE_EVENT = AriEvent.REST_RESPONSE

# Operations that do not wait on a busy channel in Asterisk (play and originate are
# asynchronous, hangup is a soft hangup, playback stop and bridge create / destroy act at
# once, reads take a lock), so serialising them on one socket costs next to nothing.
WS_OPERATIONS = frozenset(
    {
        "channels.play",
        "channels.originate",
        "channels.create",
        "channels.hangup",
        "channels.get",
        "channels.list",
        "playbacks.stop",
        "playbacks.get",
        "bridges.create",
        "bridges.destroy",
        "bridges.get",
        "bridges.list",
        "bridges.play",
        "asterisk.info",
        "asterisk.ping",
        "applications.get",
        # These two wait for the channel's command queue; the engine sends them only once
        # the channel's playbacks have ended (it waits for PlaybackFinished after stopping
        # the coloring, and for the end of the whisper), so Asterisk carries them out at
        # once (about 1 ms, protocol facts H) instead of holding the socket behind a prompt.
        "channels.answer",
        "bridges.add_channel",
    }
)


class WsRestState(enum.StrEnum):
    """Whether requests may use the socket now."""

    DOWN = "down"  # no socket
    PROBING = "probing"  # connected, not known yet
    AVAILABLE = "available"
    UNSUPPORTED = "unsupported"  # this Asterisk does not answer RESTRequest frames


@dataclass(frozen=True, slots=True)
class WsReply:
    """A RESTResponse: status and the body text (None when there is none)."""

    status: int
    reason: str
    body: str | None


class WsRestClosed(ConnectionError):
    """The socket went away before the response came."""


class WsRestNotSent(WsRestClosed):
    """The request never left: no socket, or writing the frame failed (safe to resend)."""


Writer = Callable[[bytes], None]  # writes raw bytes to the socket's transport


def text_frame(payload: bytes, mask: bytes) -> bytes:
    """One masked client text frame (RFC 6455 5.2: FIN, opcode 1, mask bit, length, key)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, 0x80 | n))
    elif n < 65536:
        header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return header + mask + (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


class WsRest:
    """Pending RESTRequests on one events WebSocket, matched to responses by request id."""

    def __init__(self, *, probe_timeout: float = 2.0, enabled: bool = True) -> None:
        self.enabled = enabled
        self.probe_timeout = probe_timeout
        self.state = WsRestState.DOWN
        self._write: Writer | None = None
        self._outbox: list[bytes] = []  # frames of this loop turn, written together
        self._pending: dict[str, asyncio.Future[WsReply]] = {}
        self._ids = itertools.count(1)
        self._probe: asyncio.Task[None] | None = None
        self._again = False
        self._deadlines: dict[str, float] = {}
        self._written: dict[str, asyncio.Future[WsReply]] = {}  # awaiting this turn's write
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sweep_interval = 0.25
        self.sent = 0
        self.unmatched = 0

    @property
    def available(self) -> bool:
        """True when requests go over the socket."""
        return self.state is WsRestState.AVAILABLE

    def carries(self, operation: str) -> bool:
        """Whether this operation goes over the socket right now."""
        return self.state is WsRestState.AVAILABLE and operation in WS_OPERATIONS

    # -- socket life -----------------------------------------------------------------------
    def attach(self, write: Writer) -> None:
        """A socket is up: requests may be written with ``write`` (the transport's, so the
        frames of one loop turn leave in one system call) once the probe has answered."""
        self._write = write
        # The socket's loop, kept: asyncio.get_running_loop() makes a getpid() system call
        # on Python 3.11, and a call sends nine requests.
        self._loop = asyncio.get_running_loop()
        self._outbox.clear()
        self.state = WsRestState.PROBING if self.enabled else WsRestState.UNSUPPORTED
        self.probe()

    def detach(self) -> None:
        """The socket is gone: fail what is pending (the caller sees a connection error)."""
        self._write = None
        self._outbox.clear()
        self.state = WsRestState.DOWN
        if self._probe is not None:
            self._probe.cancel()
            self._probe = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        unwritten, self._written = self._written, {}
        for fut in unwritten.values():  # queued for this turn's write: never left, resendable
            if not fut.done():
                fut.set_exception(WsRestNotSent("the ARI WebSocket closed before the write"))
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(WsRestClosed("the ARI WebSocket closed before the response"))

    async def settled(self) -> WsRestState:
        """The state once a running probe has decided (for benchmarks and tests)."""
        while self._probe is not None and not self._probe.done():
            await asyncio.shield(self._probe)
        return self.state

    def probe(self) -> None:
        """(Re)check support in the background; the first answer switches the socket on."""
        if not self.enabled or self._write is None or self.available:
            return
        if self._probe is not None and not self._probe.done():
            self._again = True  # e.g. the event filter changed while a probe was out
            return
        self._again = False
        self._probe = asyncio.create_task(self._run_probe(), name="ari-ws-rest-probe")

    async def _run_probe(self) -> None:
        try:
            reply = await self.send("GET", "asterisk/info", None, timeout=self.probe_timeout)
        except (TimeoutError, ConnectionError) as exc:
            if self._again and self._write is not None:
                self._again = False
                await self._run_probe()
                return
            if self._write is not None:
                self.state = WsRestState.UNSUPPORTED
                log.info(
                    "ARI: no answer to a request over the events WebSocket (%s); this Asterisk "
                    "predates REST over WebSocket (22.4) or filters RESTResponse: using HTTP",
                    type(exc).__name__,
                )
            return
        if self._write is None:
            return
        if 200 <= reply.status < 300:
            self.state = WsRestState.AVAILABLE
            log.info("ARI: requests go over the events WebSocket (REST over WebSocket)")
        else:  # e.g. 401 from an Asterisk that does not authorise the socket's requests
            self.state = WsRestState.UNSUPPORTED
            log.warning(
                "ARI: Asterisk refused a request over the events WebSocket (%s %s): using HTTP",
                reply.status,
                reply.reason,
            )

    # -- requests --------------------------------------------------------------------------
    async def send(
        self,
        method: str,
        uri: str,
        body: Mapping[str, Any] | None,
        *,
        timeout: float,  # noqa: ASYNC109
    ) -> WsReply:
        """Send one request (``uri`` relative to /ari, no leading slash) and await its reply."""
        if self._write is None:
            raise WsRestNotSent("no ARI WebSocket")
        request_id = f"r{next(self._ids)}"
        frame: dict[str, Any] = {
            "type": REQUEST_FRAME,
            "request_id": request_id,
            "method": method,
            "uri": uri,
        }
        if body is not None:
            frame["content_type"] = "application/json"
            frame["message_body"] = orjson.dumps(body).decode()
        loop = self._loop or asyncio.get_running_loop()
        fut: asyncio.Future[WsReply] = loop.create_future()
        self._pending[request_id] = fut
        if not self._outbox:
            loop.call_soon(self._flush)
        self._outbox.append(orjson.dumps(frame))
        self._written[request_id] = fut
        try:
            self.sent += 1
            # One sweeper for every request's deadline instead of a timer per request.
            self._deadlines[request_id] = loop.time() + timeout
            if self._sweeper is None or self._sweeper.done():
                self._sweeper = loop.create_task(self._sweep(), name="ari-ws-rest-timeouts")
            return await fut
        finally:
            self._pending.pop(request_id, None)
            self._deadlines.pop(request_id, None)

    def _flush(self) -> None:
        """Write this turn's frames in one go; if that fails they never left (resendable)."""
        frames, self._outbox = self._outbox, []
        waiting, self._written = self._written, {}
        if not frames:
            return
        bits = random.getrandbits
        try:
            if self._write is None:
                raise ConnectionError("the ARI WebSocket closed")
            self._write(b"".join(text_frame(f, bits(32).to_bytes(4, "big")) for f in frames))
        except (ConnectionError, RuntimeError) as exc:
            for fut in waiting.values():
                if not fut.done():
                    fut.set_exception(WsRestNotSent(f"writing the request failed: {exc}"))

    async def _sweep(self) -> None:
        """Fail requests past their deadline (TimeoutError), every ``sweep_interval`` s."""
        loop = asyncio.get_running_loop()
        while self._deadlines:
            await asyncio.sleep(self.sweep_interval)
            now = loop.time()
            for request_id, deadline in list(self._deadlines.items()):
                fut = self._pending.get(request_id)
                if deadline <= now and fut is not None and not fut.done():
                    fut.set_exception(TimeoutError(f"no RESTResponse to {request_id}"))

    def resolve(self, frame: Mapping[str, Any]) -> None:
        """Hand a RESTResponse frame to the request waiting for it."""
        fut = self._pending.pop(str(frame.get("request_id", "")), None)
        if fut is None:
            self.unmatched += 1
            log.warning(
                "ARI: RESTResponse for no pending request (id %r, status %s, uri %r)",
                frame.get("request_id"),
                frame.get("status_code"),
                frame.get("uri"),
            )
            return
        if fut.done():
            return
        body = frame.get("message_body")
        fut.set_result(
            WsReply(
                int(frame.get("status_code") or 0),
                str(frame.get("reason_phrase") or ""),
                body if isinstance(body, str) else None,
            )
        )
