"""Raw ARI over aiohttp for the fidelity suite: no engine code, only HTTP and the WebSocket."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

EVENT_TIMEOUT = 5.0
Event = dict[str, Any]


def basic(user: str, password: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Reply:
    """One HTTP reply with its arrival time."""

    status: int
    body: Any
    text: str
    headers: dict[str, str]
    at: float

    @property
    def message(self) -> str:
        """The ARI error message."""
        return self.body.get("message", "") if isinstance(self.body, dict) else ""


class AriWire:
    """Plain HTTP requests to ARI."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        self.user = user
        self.password = password
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        auth: str | None = "default",
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        fresh: bool = False,
    ) -> Reply:
        """One request; ``fresh`` uses its own connection (for refused upgrades)."""
        hdr = dict(headers or {})
        if auth == "default":
            hdr["Authorization"] = basic(self.user, self.password)
        elif auth:
            hdr["Authorization"] = auth
        query = {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (params or {}).items()
        }
        session = self.session
        if fresh:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True),
                timeout=aiohttp.ClientTimeout(total=20),
            )
        try:
            async with session.request(
                method, self.url + path, params=query, headers=hdr, json=json_body
            ) as r:
                text = await r.text()
                try:
                    body = json.loads(text) if text else None
                except ValueError:
                    body = None
                return Reply(r.status, body, text, dict(r.headers), time.monotonic())
        finally:
            if fresh:
                await session.close()

    async def create(self, app: str, endpoint: str, args: str = "", **extra: Any) -> Reply:
        """POST /channels/create."""
        params = {"endpoint": endpoint, "app": app, **extra}
        if args:
            params["appArgs"] = args
        return await self.call("POST", "/channels/create", params)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.session.close()


class EventStream:
    """An events WebSocket that records every event for order assertions."""

    def __init__(self, wire: AriWire, app: str) -> None:
        self.wire = wire
        self.app = app
        self.events: list[tuple[float, Event]] = []
        self._cond = asyncio.Condition()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Open the WebSocket (which registers the application)."""
        url = self.wire.url.replace("http", "ws", 1) + "/events"
        self._ws = await self.wire.session.ws_connect(
            url,
            params={"app": self.app},
            protocols=("ari",),
            headers={"Authorization": basic(self.wire.user, self.wire.password)},
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            async with self._cond:
                self.events.append((time.monotonic(), json.loads(msg.data)))
                self._cond.notify_all()

    async def send(self, text: str) -> None:
        """Send one text frame on the socket (REST over WebSocket requests)."""
        assert self._ws is not None
        await self._ws.send_str(text)

    async def request(self, frame: dict[str, Any], timeout: float = EVENT_TIMEOUT) -> Event:  # noqa: ASYNC109
        """Send a RESTRequest frame and wait for the RESTResponse with its request_id."""
        since = self.mark()
        await self.send(json.dumps(frame))
        rid = frame.get("request_id", "")
        return (
            await self.wait(
                lambda e: e["type"] == "RESTResponse" and e["request_id"] == rid, since, timeout
            )
        )[1]

    def mark(self) -> int:
        """An index to look for events after."""
        return len(self.events)

    async def wait(
        self,
        pred: Callable[[Event], bool],
        since: int = 0,
        timeout: float = EVENT_TIMEOUT,  # noqa: ASYNC109
    ) -> tuple[float, Event]:
        """Wait for the first matching event after ``since``; AssertionError on timeout."""
        i = since
        async with self._cond:
            try:
                async with asyncio.timeout(timeout):
                    while True:
                        while i < len(self.events):
                            if pred(self.events[i][1]):
                                return self.events[i]
                            i += 1
                        await self._cond.wait()
            except TimeoutError:
                raise AssertionError(
                    f"no matching event within {timeout}s; got "
                    f"{[e['type'] for _, e in self.events[since:]]}"
                ) from None

    async def wait_type(
        self,
        event_type: str,
        cid: str | None = None,
        since: int = 0,
        pb: str | None = None,
        timeout: float = EVENT_TIMEOUT,  # noqa: ASYNC109
    ) -> Event:
        """Wait for an event of a type (for a channel / playback)."""
        return (await self.wait(lambda e: is_event(e, event_type, cid, pb), since, timeout))[1]

    def of(
        self, cid: str, since: int = 0, skip: tuple[str, ...] = ("ChannelVarset",)
    ) -> list[Event]:
        """Events about one channel (channel or Dial peer) after ``since``."""
        out = []
        for _, e in self.events[since:]:
            ch = e.get("channel") or e.get("peer") or {}
            if ch.get("id") == cid and e["type"] not in skip:
                out.append(e)
        return out

    def types(self, cid: str, since: int = 0) -> list[str]:
        """Event types about one channel, in order."""
        return [e["type"] for e in self.of(cid, since)]

    def playback_events(self, pb: str, since: int = 0) -> list[tuple[str, str]]:
        """(type, state) of one playback's events."""
        return [
            (e["type"], e["playback"]["state"])
            for _, e in self.events[since:]
            if "playback" in e and e["playback"]["id"] == pb
        ]

    async def close(self) -> None:
        """Close the WebSocket."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader


def is_event(e: Event, event_type: str, cid: str | None = None, pb: str | None = None) -> bool:
    """Whether ``e`` is of a type, for a channel / playback when given."""
    if e.get("type") != event_type:
        return False
    if cid is not None and (e.get("channel") or e.get("peer") or {}).get("id") != cid:
        return False
    return pb is None or (e.get("playback") or {}).get("id") == pb
