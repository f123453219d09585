"""The events WebSocket: reconnect after a cut, junk frames, auth failure, dispatch.

``TinyAri`` is a small aiohttp server speaking just enough ARI (events WebSocket with Basic
auth, a few REST routes) to script what the simulator cannot: junk frames, an event sent
before the HTTP reply, a 401 on connect. Cuts go through ``TcpProxy`` over real sockets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from ivr_engine.asterisk.ari import AriClient, Backoff, EventStream, StreamState
from ivr_engine.asterisk.ari import events as ev
from tests.support.tcp_proxy import TcpProxy, ws_text_frame

USER, PASSWORD = "ivr", "ivr-secret"


def channel_json(cid: str, state: str = "Ring") -> dict[str, Any]:
    """A minimal channel object."""
    return {
        "id": cid,
        "name": f"PJSIP/carrier-{cid}",
        "state": state,
        "caller": {"name": "", "number": "01020003000"},
    }


class TinyAri:
    """A scriptable ARI endpoint: pushes frames to connected event sockets on demand."""

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.connected = asyncio.Condition()
        self.connects = 0
        self.auth_rejects = 0
        self.before_reply: Callable[[web.Request], Awaitable[None]] | None = None
        self.runner: web.AppRunner | None = None
        self.port = 0

    def _authorized(self, request: web.Request) -> bool:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    async def events(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            async with self.connected:
                self.auth_rejects += 1
                self.connected.notify_all()
            return web.json_response({"message": "Authentication required"}, status=401)
        if "app" not in request.query:
            return web.Response(status=400, text="HTTP request is missing param: [app]")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        async with self.connected:
            self.connects += 1
            self.connected.notify_all()
        async for _ in ws:
            pass
        self.sockets.remove(ws)
        return ws

    async def play(self, request: web.Request) -> web.Response:
        if self.before_reply is not None:
            await self.before_reply(request)
        cid = request.match_info["cid"]
        pid = request.match_info.get("pid", "pb-1")
        return web.json_response(
            {
                "id": pid,
                "media_uri": request.query["media"],
                "target_uri": f"channel:{cid}",
                "language": "en",
                "state": "queued",
            },
            status=201,
        )

    async def missing(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "Channel not found"}, status=404)

    async def push(self, frame: str | bytes | dict[str, Any]) -> None:
        """Send a frame to every connected events socket."""
        for ws in list(self.sockets):
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    async def wait_connects(self, n: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self.connected:
            await self.connected.wait_for(lambda: self.connects >= n and bool(self.sockets))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ari/events", self.events)
        app.router.add_post("/ari/channels/{cid}/play/{pid}", self.play)
        app.router.add_post("/ari/channels/{cid}/play", self.play)
        app.router.add_get("/ari/channels/{cid}", self.missing)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def tiny() -> AsyncIterator[TinyAri]:
    server = TinyAri()
    await server.start()
    yield server
    await server.stop()


def fast_backoff() -> Backoff:
    return Backoff(base=0.01, cap=0.05)


def stasis_start(cid: str) -> dict[str, Any]:
    return {
        "type": "StasisStart",
        "timestamp": "2025-03-01T14:05:09.123+0900",
        "application": "ivr-engine",
        "args": ["inbound"],
        "channel": channel_json(cid),
    }


async def test_events_are_dispatched_by_type_and_channel(tiny: TinyAri) -> None:
    stream = EventStream(
        f"http://127.0.0.1:{tiny.port}/ari", USER, PASSWORD, "ivr-engine", backoff=fast_backoff()
    )
    got: list[ev.Event] = []
    stream.subscribe(got.append, channel_id="c2")
    await stream.start()
    try:
        await tiny.wait_connects(1)
        with stream.expect(ev.StasisStart, channel_id="c2") as waiter:
            await tiny.push(stasis_start("c1"))
            await tiny.push(stasis_start("c2"))
            start = await waiter.wait(timeout=2)
        assert start.channel.id == "c2" and start.args == ("inbound",)
        assert [e.channel.id for e in got if isinstance(e, ev.StasisStart)] == ["c2"]
        assert stream.health.state is StreamState.CONNECTED and stream.health.events == 2
    finally:
        await stream.stop()
    assert stream.health.state is StreamState.STOPPED


async def test_junk_frames_are_logged_and_skipped(
    tiny: TinyAri, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "ivr_engine.asterisk.ari")
    stream = EventStream(
        f"http://127.0.0.1:{tiny.port}/ari", USER, PASSWORD, "ivr-engine", backoff=fast_backoff()
    )
    await stream.start()
    try:
        await tiny.wait_connects(1)
        with stream.expect(ev.StasisStart) as waiter:
            await tiny.push("this is not json")
            await tiny.push(b"\x00\x01binary")
            await tiny.push("[1, 2, 3]")
            await tiny.push({"type": "PlaybackFinished"})  # known type, required field missing
            await tiny.push(stasis_start("after-junk"))
            event = await waiter.wait(timeout=2)
        assert event.channel.id == "after-junk"
        health = stream.health
        assert health.junk_frames == 4 and health.connects == 1
        assert "not JSON" in caplog.text and "binary frame" in caplog.text
        assert "expected an object" in caplog.text and "malformed PlaybackFinished" in caplog.text
    finally:
        await stream.stop()


async def test_cut_connection_reconnects_and_reruns_on_connect(tiny: TinyAri) -> None:
    async with TcpProxy("127.0.0.1", tiny.port) as proxy:
        stream = EventStream(
            f"http://127.0.0.1:{proxy.port}/ari",
            USER,
            PASSWORD,
            "ivr-engine",
            backoff=fast_backoff(),
        )
        connects: asyncio.Queue[int] = asyncio.Queue()
        disconnects: asyncio.Queue[StreamState] = asyncio.Queue()

        async def on_connect(s: EventStream) -> None:
            await connects.put(s.health.connects)

        async def on_disconnect(s: EventStream) -> None:
            await disconnects.put(s.health.state)

        stream.on_connect(on_connect)
        stream.on_disconnect(on_disconnect)
        await stream.start()
        try:
            assert await asyncio.wait_for(connects.get(), 5) == 1
            proxy.refuse = True
            await proxy.cut()
            assert await asyncio.wait_for(disconnects.get(), 5) is StreamState.RECONNECTING
            assert not stream.health.ready
            proxy.refuse = False
            assert await asyncio.wait_for(connects.get(), 5) == 2
            assert stream.health.state is StreamState.CONNECTED
            assert stream.health.reconnects == 1
            with stream.expect(ev.StasisStart) as waiter:
                await tiny.wait_connects(2)
                await tiny.push(stasis_start("after-cut"))
                assert (await waiter.wait(timeout=2)).channel.id == "after-cut"
        finally:
            await stream.stop()


async def test_raw_garbage_on_the_wire_breaks_the_socket_and_it_recovers(
    tiny: TinyAri, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "ivr_engine.asterisk.ari")
    async with TcpProxy("127.0.0.1", tiny.port) as proxy:
        stream = EventStream(
            f"http://127.0.0.1:{proxy.port}/ari",
            USER,
            PASSWORD,
            "ivr-engine",
            backoff=fast_backoff(),
        )
        await stream.start()
        try:
            await stream.wait_connected(5)
            with stream.expect(ev.StasisStart) as waiter:
                proxy.inject(ws_text_frame("{ not json either"))  # a well-framed junk frame
                proxy.inject(ws_text_frame(json.dumps(stasis_start("injected"))))
                assert (await waiter.wait(timeout=2)).channel.id == "injected"
            proxy.inject(b"\xff\xfe\xfd garbage that is not a websocket frame")
            await tiny.wait_connects(2)
            await stream.wait_connected(5)
            assert stream.health.connects == 2
            assert "connection lost" in caplog.text and "not JSON" in caplog.text
        finally:
            await stream.stop()


async def test_wrong_password_reports_auth_failed_and_keeps_retrying(
    tiny: TinyAri, caplog: pytest.LogCaptureFixture
) -> None:
    stream = EventStream(
        f"http://127.0.0.1:{tiny.port}/ari", USER, "wrong", "ivr-engine", backoff=fast_backoff()
    )
    await stream.start()
    try:
        async with asyncio.timeout(5), tiny.connected:  # a second attempt: the first was handled
            await tiny.connected.wait_for(lambda: tiny.auth_rejects >= 2)
        health = stream.health
        assert health.state is StreamState.AUTH_FAILED and not health.ready
        assert health.failed_attempts >= 1 and health.connects == 0
        assert "401" in (health.last_error or "")
        assert "authentication failed" in caplog.text
    finally:
        await stream.stop()


async def test_waiter_catches_event_sent_before_the_http_reply(tiny: TinyAri) -> None:
    base = f"http://127.0.0.1:{tiny.port}/ari"
    stream = EventStream(base, USER, PASSWORD, "ivr-engine", backoff=fast_backoff())
    order: list[str] = []
    seen = asyncio.Event()

    def mark(e: ev.Event) -> None:
        order.append(f"event:{e.type}")
        seen.set()

    stream.subscribe(mark, types=ev.PlaybackFinished)

    async def event_first(request: web.Request) -> None:
        cid = request.match_info["cid"]
        await tiny.push(
            {
                "type": "PlaybackFinished",
                "playback": {
                    "id": request.match_info["pid"],
                    "media_uri": "sound:hello",
                    "target_uri": f"channel:{cid}",
                    "state": "done",
                },
            }
        )
        await asyncio.wait_for(seen.wait(), 5)  # the client has the event before the reply

    tiny.before_reply = event_first
    await stream.start()
    async with AriClient(base, USER, PASSWORD) as client:
        try:
            await stream.wait_connected(5)
            async with stream.expect(
                ev.PlaybackFinished, lambda e: e.playback.id == "pb-9"
            ) as waiter:
                playback = await client.play("c1", "sound:hello", playback_id="pb-9")
                order.append("reply")
                finished = await waiter.wait(timeout=2)
            assert order == ["event:PlaybackFinished", "reply"]
            assert playback.state == "queued" and finished.playback.state == "done"
            late = stream.expect(ev.PlaybackFinished)  # registered after the fact: misses it
            with pytest.raises(TimeoutError):
                await late.wait(timeout=0.05)
            late.cancel()
        finally:
            await stream.stop()
