"""The floor under ``python -m bench calls``: what the same forward flow costs an ARI app
that does nothing else.

The app here makes the engine's 9 requests per call (the coloring as one playback of a
repeated media list, originate, the whisper, coloring stop, answer, bridge create,
addChannel, caller hangup, bridge destroy), all over the events WebSocket, waits for the
same events (the callee's StasisStart, both PlaybackFinished, the callee's hangup) and
has the engine's event filter; it keeps no call record, no metrics, no trace, no masking,
no configuration, no races or timeouts. Against the same simulator at the same speed, in
its own process, with calls placed by a third, as ``calls`` does. Two transports:

- ``aiohttp``: aiohttp's WebSocket, frames written straight to its transport as the
  engine writes them (one write per loop turn);
- ``raw``: an ``asyncio.Protocol`` on the socket parsing frames itself (no TLS, no ping,
  no fragments: a floor, not a client).

What the engine spends per call above these is the price of what it does beyond moving
the call's frames. ``python -m bench floor [--level RATE:CALLS] [--transport ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson

from bench.bench_calls import (
    EXPECTED_EVENTS,
    ROOT,
    SPEED,
    place_through_control,
    start_simulator,
)
from bench.bench_calls import level as parse_level_arg
from ivr_engine.asterisk.ari.http import basic_auth
from ivr_engine.asterisk.ari.ws_rest import text_frame
from ivr_engine.calls.dispatcher import CALL_EVENT_TYPES

APP = "ivr-engine"
MASK = b"\x5a\x17\xc3\x08"
COLORING = ",".join(["sound:hello-world"] * 20)
WHISPER = "sound:beep"


class FloorApp:
    """The forward flow with nothing around it; ``send`` writes one request frame."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.waiters: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self.send: Callable[[bytes], None] = lambda _: None
        self.done = 0
        self.events = 0
        self.finished: asyncio.Event = asyncio.Event()
        self.expected = 0
        self.calls: set[asyncio.Future[None]] = set()

    def request(
        self, method: str, uri: str, query: dict[str, str] | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        rid = f"f{next(self.ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        frame: dict[str, Any] = {
            "type": "RESTRequest",
            "request_id": rid,
            "transaction_id": rid,
            "method": method,
            "uri": uri,
        }
        if query:
            frame["query_strings"] = [{"name": k, "value": v} for k, v in query.items()]
        self.send(orjson.dumps(frame))
        return fut

    def expect(self, kind: str, key: str) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[(kind, key)] = fut
        return fut

    async def call(self, a: str) -> None:
        b = f"{a}-t1"
        await self.request("POST", f"channels/{a}/play/co-{a}", {"media": COLORING})
        started = self.expect("StasisStart", b)
        gone = self.expect("ChannelHangupRequest", b)  # the callee may hang up at any time
        await self.request(
            "POST",
            f"channels/{b}",
            {
                "endpoint": "PJSIP/01000000001@carrier",
                "app": APP,
                "appArgs": f"outbound,{a}",
                "timeout": "20",
                "originator": a,
            },
        )
        await started
        whisper = self.expect("PlaybackFinished", f"wh-{b}")
        await self.request("POST", f"channels/{b}/play/wh-{b}", {"media": WHISPER})
        await whisper
        coloring = self.expect("PlaybackFinished", f"co-{a}")
        await self.request("DELETE", f"playbacks/co-{a}")
        await coloring
        await self.request("POST", f"channels/{a}/answer")
        reply = await self.request("POST", "bridges", {"type": "mixing", "name": f"ivr-{a}"})
        bridge = orjson.loads(reply["message_body"])["id"]
        await self.request("POST", f"bridges/{bridge}/addChannel", {"channel": f"{a},{b}"})
        await gone
        await self.request("DELETE", f"channels/{a}")
        await self.request("DELETE", f"bridges/{bridge}")
        self.done += 1
        if self.done >= self.expected:
            self.finished.set()

    def on_frame(self, data: bytes | str) -> None:
        raw = orjson.loads(data)
        kind = raw["type"]
        if kind == "RESTResponse":
            fut = self.pending.pop(raw["request_id"], None)
            if fut is not None:
                fut.set_result(raw)
            return
        self.events += 1
        if kind == "StasisStart":
            channel = raw["channel"]["id"]
            if raw.get("args", [""])[:1] != ["outbound"]:
                task = asyncio.ensure_future(self.call(channel))
                self.calls.add(task)
                task.add_done_callback(self.calls.discard)
                return
            key = channel
        elif kind == "PlaybackFinished":
            key = raw["playback"]["id"]
        elif kind == "ChannelHangupRequest":
            key = raw["channel"]["id"]
        else:
            return
        waiter = self.waiters.pop((kind, key), None)
        if waiter is not None:
            waiter.set_result(raw)


class RawSocket(asyncio.Protocol):
    """A client WebSocket as small as can be: handshake, then unmasked server frames."""

    def __init__(self, path: str, host: str, auth: str, on_frame: Callable[[bytes], None]):
        self.path, self.host, self.auth, self.on_frame = path, host, auth, on_frame
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: {self.auth}\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(bytes(buf[:end]).decode()))
                return
            del buf[: end + 4]
            self.upgraded.set_result(None)
        while len(buf) >= 2:
            size, start = buf[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + size:
                return
            opcode = buf[0] & 0x0F
            payload = bytes(buf[start : start + size])
            del buf[: start + size]
            if opcode == 1:
                self.on_frame(payload)


def writer(write: Callable[[bytes], object]) -> Callable[[bytes], None]:
    """Frames of one loop turn joined into one write, as the engine does."""
    out: list[bytes] = []

    def flush() -> None:
        write(b"".join(out))
        out.clear()

    def send(payload: bytes) -> None:
        if not out:
            asyncio.get_running_loop().call_soon(flush)
        out.append(text_frame(payload, MASK))

    return send


async def connect(app: FloorApp, transport: str, ari_url: str) -> Callable[[], Awaitable[None]]:
    """Open the events socket with the chosen transport; returns its closer."""
    auth = basic_auth("ivr", "ivr-secret")
    path = f"/ari/events?app={APP}&subscribeAll=false"
    host, port = ari_url.split("//", 1)[1].split("/", 1)[0].split(":")
    if transport == "raw":
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(
            lambda: RawSocket(path, host, auth, app.on_frame), host, int(port)
        )
        await proto.upgraded
        app.send = writer(proto.transport.write)

        async def close_raw() -> None:
            proto.transport.close()

        return close_raw
    http = aiohttp.ClientSession(headers={"Authorization": auth})
    ws = await http.ws_connect(f"ws://{host}:{port}{path}")
    sock = ws._writer.transport  # the engine writes its frames there too

    async def read() -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                app.on_frame(msg.data)

    reader = asyncio.ensure_future(read())
    app.send = writer(sock.write)

    async def close() -> None:
        reader.cancel()
        await http.close()

    return close


async def level(app: FloorApp, control: str, rate: int, count: int) -> tuple[float, float]:
    """One level: (CPU ms per call, events per call)."""
    app.done, app.events, app.expected = 0, 0, count
    app.finished.clear()
    t0 = os.times()
    await place_through_control(control, rate, count)
    try:
        await asyncio.wait_for(app.finished.wait(), 120)
    except TimeoutError:
        raise SystemExit(
            f"{app.done} of {count} calls finished; events {app.events}, "
            f"{len(app.pending)} requests unanswered, waiting for {list(app.waiters)[:3]}"
        ) from None
    t1 = os.times()
    cpu = (t1.user - t0.user) + (t1.system - t0.system)
    return cpu / count * 1000, app.events / count


async def bench(args: argparse.Namespace) -> None:
    sim, ari_url, control, _ = await start_simulator(ROOT / "sounds" / "sim", args.speed)
    try:
        async with aiohttp.ClientSession(
            headers={"Authorization": basic_auth("ivr", "ivr-secret")}
        ) as http:
            for transport in args.transport:
                app = FloorApp()
                close = await connect(app, transport, ari_url)
                allowed = [{"type": t} for t in (*CALL_EVENT_TYPES, "RESTResponse")]
                async with http.put(
                    f"{ari_url}/applications/{APP}/eventFilter",
                    json={"allowed": allowed, "disallowed": []},
                ) as resp:
                    assert resp.status == 200, await resp.text()
                await level(app, control, 20, 100)  # warm-up: imports, first allocations
                for rate, count in args.level or [(100, 1500)]:
                    started = time.perf_counter()
                    cpu, events = await level(app, control, rate, count)
                    wall = time.perf_counter() - started
                    print(
                        f"  {transport:>7}: {rate} calls/s offered, {count / wall:.1f} completed, "
                        f"floor CPU {cpu:.2f} ms/call, {events:g} events per call"
                        + (
                            ""
                            if events == sum(EXPECTED_EVENTS.values())
                            else f" (the engine takes {sum(EXPECTED_EVENTS.values())})"
                        )
                    )
                await close()
    finally:
        sim.terminate()
        await sim.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m bench floor [options]``."""
    parser = argparse.ArgumentParser(prog="python -m bench floor")
    parser.add_argument("--speed", type=float, default=SPEED)
    parser.add_argument("--level", type=parse_level_arg, action="append", metavar="RATE:CALLS")
    parser.add_argument(
        "--transport", choices=("aiohttp", "raw"), action="append", metavar="aiohttp|raw"
    )
    args = parser.parse_args(argv or [])
    args.transport = args.transport or ["aiohttp", "raw"]
    import uvloop

    uvloop.install()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main(sys.argv[1:])
