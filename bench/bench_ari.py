"""ARI client throughput: REST round trips/s, events/s, and the client's CPU per operation.

The server runs in a separate process, so the figures are this (engine) process's own:
the Asterisk simulator when it can be started, else a minimal ARI stand-in serving the same
routes. Run: ``python -m bench.bench_ari`` (or ``python -m bench`` for every benchmark).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr_engine.asterisk.ari import AriClient, EventStream
from ivr_engine.asterisk.ari.events import parse_event
from ivr_engine.asterisk.ari.waiters import Dispatcher

USER, PASSWORD = "ivr", "ivr-secret"
RECORDED = Path(__file__).resolve().parent.parent / "tests" / "data" / "ari_events_22.10.1.jsonl"
REST_OPS = int(os.environ.get("BENCH_ARI_REST_OPS", "4000"))
CONCURRENCY = int(os.environ.get("BENCH_ARI_CONCURRENCY", "32"))
EVENT_ROUNDS = int(os.environ.get("BENCH_ARI_EVENT_ROUNDS", "200"))


def recorded_events() -> list[dict[str, Any]]:
    """The real Asterisk 22.10.1 event stream, without the recorder's ``t`` field."""
    rows = [json.loads(line) for line in RECORDED.read_text().splitlines()]
    for row in rows:
        row.pop("t", None)
    return rows


# -- the server process ----------------------------------------------------------------------
async def _standin(rounds: int, port_out: Connection) -> None:
    """A minimal ARI: ping, channel variable, and an events socket that replays the recording."""
    frames = [json.dumps(e) for e in recorded_events()]

    async def ping(_: web.Request) -> web.Response:
        return web.json_response({"asterisk_id": "bench", "ping": "pong",
                                  "timestamp": "2025-03-01T14:05:09.123+0000"})

    async def variable(_: web.Request) -> web.Response:
        return web.Response(status=204)

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.query.get("app") == "replay":
            for _ in range(rounds):
                for frame in frames:
                    await ws.send_str(frame)
            await ws.send_str(json.dumps({"type": "BenchDone"}))
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ari/asterisk/ping", ping)
    app.router.add_post("/ari/channels/{cid}/variable", variable)
    app.router.add_get("/ari/events", events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    await asyncio.get_running_loop().run_in_executor(None, port_out.recv)  # until told to stop
    await runner.cleanup()


def _serve(rounds: int, conn: Connection) -> None:
    asyncio.run(_standin(rounds, conn))


# -- the measurements ------------------------------------------------------------------------
async def _rest(base: str, label: str, op: Any) -> str:
    """Run REST_OPS calls of ``op`` with CONCURRENCY in flight; one result line."""
    async with AriClient(base, USER, PASSWORD, max_connections=CONCURRENCY) as client:
        await op(client, 0)  # warm the pool
        queue = iter(range(REST_OPS))

        async def worker() -> None:
            for i in queue:
                await op(client, i)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return (f"{label:<40} {REST_OPS / wall:9.0f} req/s   client CPU "
            f"{cpu / REST_OPS * 1e6:7.1f} us/req  (concurrency {CONCURRENCY})")


async def _events_over_ws(base: str) -> str:
    """Receive the recording EVENT_ROUNDS times over a WebSocket, parse and dispatch it."""
    stream = EventStream(base, USER, PASSWORD, "replay", heartbeat=None)
    done = asyncio.Event()
    count = 0

    def counter(_: Any) -> None:
        nonlocal count
        count += 1

    stream.subscribe(counter)
    stream.subscribe(lambda e: done.set(), types="BenchDone")
    cpu, wall = time.process_time(), time.perf_counter()
    await stream.start()
    await asyncio.wait_for(done.wait(), 300)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await stream.stop()
    label = "events over WebSocket (parse+dispatch)"
    return (f"{label:<40} {count / wall:9.0f} ev/s    client CPU "
            f"{cpu / count * 1e6:7.1f} us/event ({count} events)")


def _events_in_process() -> str:
    """Parse and dispatch the recording without any socket: the CPU floor per event."""
    rows = [json.dumps(e) for e in recorded_events()] * 50
    d = Dispatcher()
    d.subscribe(lambda e: None)
    d.subscribe(lambda e: None, channel_id="1795306312.101")
    cpu = time.process_time()
    for text in rows:
        d.dispatch(parse_event(json.loads(text)))
    cpu = time.process_time() - cpu
    return (f"{'events in process (json+parse+dispatch)':<40} {len(rows) / cpu:9.0f} ev/s    "
            f"CPU {cpu / len(rows) * 1e6:7.1f} us/event")


async def _measure(base: str) -> list[str]:
    async def ping(client: AriClient, _: int) -> None:
        await client.ping()

    async def setvar(client: AriClient, i: int) -> None:
        await client.set_variable("bench-chan", "X", str(i))

    return [
        await _rest(base, "GET /asterisk/ping", ping),
        await _rest(base, "POST /channels/{id}/variable", setvar),
        await _events_over_ws(base),
        _events_in_process(),
    ]


def main() -> None:
    """Start the server process, measure, print the figures."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(EVENT_ROUNDS, child), daemon=True)
    proc.start()
    try:
        port = parent.recv()
        lines = asyncio.run(_measure(f"http://127.0.0.1:{port}/ari"))
    finally:
        parent.send("stop")
        proc.join(10)
    print(f"bench_ari: ARI client against a server in another process (pid {proc.pid})")
    for line in lines:
        print("  " + line)


if __name__ == "__main__":
    main()
