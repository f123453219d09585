"""ARI throughput of one engine process against the Asterisk simulator in another.

The simulator (``ivr-engine sim``) runs in its own process; the engine side (``AriClient``
and ``EventStream``) runs in this one, so the CPU figures (``os.times``: user + system) are
the engine process's own. The server's CPU and the machine's are read from ``/proc``
(Linux) to tell what limited each rate: the engine, the simulator, all CPUs busy (other
processes included) or round-trip latency. Printed:

- REST round trips per second with 1, 8 and 32 requests in flight: ``GET /asterisk/ping``
  and ``POST``/``GET /channels/{id}/variable`` on an answered channel in the bench's Stasis
  app, with the engine's and the simulator's CPU per request.
- Events per second received, parsed and dispatched, with CPU per event: playbacks of
  ``sound:beep`` lists on channels in Stasis (one request per 100 events), and inbound calls
  placed through the simulator's control API by a separate placer process, each answered,
  played a beep and hung up by the engine (also per call).
- Whether the simulator can produce events as fast as the engine takes them (the rate each
  would reach with a core of its own); when it cannot, the engine's own event rate is shown
  on the real 22.10.1 stream replayed over a WebSocket by a bare server that keeps up, and
  on the same stream decoded, parsed and dispatched with no socket.

Run: ``python -m bench ari`` (or ``python -m bench.bench_ari``); about 30 s.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ivr_engine.asterisk.ari import AriClient, EventStream
from ivr_engine.asterisk.ari import events as ev
from ivr_engine.asterisk.ari.events import parse_event
from ivr_engine.asterisk.ari.waiters import Dispatcher

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "data" / "ari_events_22.10.1.jsonl"
USER, PASSWORD, APP = "ivr", "ivr-secret", "bench-ari"
SPEED = 1000.0  # simulated seconds per wall second: a 0.25 s beep lasts 0.25 ms
SECONDS = float(os.environ.get("BENCH_ARI_SECONDS", "2"))  # per measurement
IN_FLIGHT = (1, 8, 32)
PLAY_CHANNELS, PLAY_ITEMS = 16, 50  # channels playing at once, beeps per playback
CALLS, CALLS_IN_FLIGHT = int(os.environ.get("BENCH_ARI_CALLS", "1500")), 32
REPLAY_ROUNDS = 150  # times the 241-event recording is replayed
BUSY = 0.85  # a side at least this busy limits the figure


# -- measuring -------------------------------------------------------------------------------
def own_cpu() -> float:
    """This process's CPU seconds (user + system)."""
    t = os.times()
    return t.user + t.system


def process_cpu(pid: int | None) -> float | None:
    """Another process's CPU seconds from ``/proc`` (None where unavailable)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float] | None:
    """All CPUs' (busy, total) seconds since boot from ``/proc/stat`` (None elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(fields) / tick


@dataclass
class Window:
    """Wall time and CPU over one measurement: this process's, the server's, everyone's.

    Shares are of one core (100% = one core busy for the whole window); ``helper_cpu`` is
    CPU a helper process (the call placer) reports, kept apart from "others".
    """

    server_pid: int | None = None
    wall: float = 0.0
    cpu: float = 0.0
    server_cpu: float | None = None
    machine: tuple[float, float] | None = None
    helper_cpu: float = 0.0

    def __enter__(self) -> Window:
        self._t = (time.perf_counter(), own_cpu(), process_cpu(self.server_pid), machine_cpu())
        return self

    def __exit__(self, *exc: object) -> None:
        wall0, cpu0, server0, machine0 = self._t
        self.wall, self.cpu = time.perf_counter() - wall0, own_cpu() - cpu0
        server1, machine1 = process_cpu(self.server_pid), machine_cpu()
        self.server_cpu = None if server0 is None or server1 is None else server1 - server0
        if machine0 is not None and machine1 is not None:
            self.machine = (machine1[0] - machine0[0], machine1[1] - machine0[1])

    def others(self) -> float | None:
        """Share of a core other processes used (the machine's busy time minus ours)."""
        if self.machine is None or self.server_cpu is None:
            return None
        return max(0.0, self.machine[0] - self.cpu - self.server_cpu - self.helper_cpu) / self.wall

    def busy(self) -> str:
        """``engine sim other``, each as a share of one core."""

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.0%}"

        server = None if self.server_cpu is None else self.server_cpu / self.wall
        return "".join(f"{pct(v):>7}" for v in (self.cpu / self.wall, server, self.others()))

    def limit(self) -> str:
        """What held the rate down: ``engine``, ``sim``, ``CPUs`` (all busy) or ``latency``."""
        if self.cpu / self.wall >= BUSY:
            return "engine"
        if self.server_cpu is not None and self.server_cpu / self.wall >= BUSY:
            return "sim"
        if self.machine is not None and self.machine[0] >= BUSY * self.machine[1]:
            return "CPUs"
        return "latency"


HEADER = (
    f"  {'':<48} {'rate':>13} {'engine CPU':>12} {'server CPU':>12}  "
    + "".join(f"{h:>7}" for h in ("engine", "server", "other"))
    + "  limit\n"
    f"  {'':<48} {'':>13} {'per op':>12} {'per op':>12}  {'busy (share of a core)':>21}"
)


def row(label: str, count: int, window: Window, unit: str, extra: str = "") -> str:
    """One table row: rate, engine and server CPU per operation, busy shares, the limit."""

    def per_op(cpu: float | None) -> str:
        return "n/a" if cpu is None else f"{cpu / max(count, 1) * 1e6:.1f} us"

    return (
        f"  {label:<48} {count / window.wall:8.0f} {unit + '/s':<5}"
        f"{per_op(window.cpu):>12} {per_op(window.server_cpu):>12}  "
        f"{window.busy()}  {window.limit():<7} {extra}"
    ).rstrip()


# -- the simulator ---------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_simulator() -> tuple[asyncio.subprocess.Process, str]:
    """``ivr-engine sim`` in its own process; returns it and its base URL (``http://h:p``)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr_engine.cli",
        "--log-level",
        "WARNING",
        "sim",
        "--ari-port",
        str(port),
        "--ami-port",
        str(free_port()),
        "--speed",
        str(SPEED),
        "--sounds",
        str(ROOT / "sounds" / "sim"),
        stdout=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    await until(lambda info: True, f"{base}/sim/info", "the simulator did not start")
    return proc, base


async def until(check: Callable[[dict[str, Any]], bool], url: str, failure: str) -> None:
    """Poll ``url`` (JSON) until ``check`` holds on its body; RuntimeError after ~10 s."""
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(url) as resp:
                    if resp.status == 200 and check(await resp.json()):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(failure)


async def place_calls(control: str, count: int, in_flight: int) -> None:
    """The placer process: ``count`` inbound calls into the bench's app, ``in_flight`` at once."""
    body = {"to": "05050000001", "from": "01020003000", "app": APP, "args": ["call"]}
    async with aiohttp.ClientSession() as http:
        todo = iter(range(count))
        print("ready", flush=True)

        async def worker() -> None:
            for _ in todo:
                async with http.post(f"{control}/calls", json=body) as resp:
                    assert resp.status == 201, await resp.text()

        cpu = own_cpu()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        print(f"cpu {own_cpu() - cpu}", flush=True)


# -- the engine side -------------------------------------------------------------------------
class Engine:
    """The client side: one ``AriClient`` and the app's ``EventStream``, plus counters."""

    def __init__(self, base: str, server_pid: int) -> None:
        self.base, self.server_pid = base, server_pid
        self.client = AriClient(f"{base}/ari", USER, PASSWORD)
        self.stream = EventStream(f"{base}/ari", USER, PASSWORD, APP, heartbeat=None)
        self.events = 0
        self.started: dict[str, asyncio.Future[None]] = {}
        self.calls_done = 0
        self.calls_failed = 0
        self.all_calls_done = asyncio.Event()
        self.calls_expected = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.stream.subscribe(self._count)
        self.stream.subscribe(self._on_start, types=ev.StasisStart)
        self.stream.subscribe(self._on_end, types=ev.StasisEnd)

    async def start(self) -> None:
        """Connect the events WebSocket and wait until the simulator has the app."""
        await self.stream.start()
        await self.stream.wait_connected(10)
        await until(
            lambda info: APP in info["apps"], f"{self.base}/sim/info", "the app did not register"
        )

    async def stop(self) -> None:
        """Close the WebSocket and the HTTP pool."""
        await self.stream.stop()
        await self.client.close()

    def _count(self, _: ev.Event) -> None:
        """Count every event (a catch-all subscription, as the engine's metrics have)."""
        self.events += 1

    def _started(self, channel_id: str) -> asyncio.Future[None]:
        """The future a held channel's StasisStart resolves (made by whoever comes first)."""
        return self.started.setdefault(channel_id, asyncio.get_running_loop().create_future())

    def _on_start(self, event: ev.Event) -> None:
        """A channel entered the app: a held channel is announced; a call gets handled."""
        assert isinstance(event, ev.StasisStart)
        if event.args[:1] == ("call",):
            task = asyncio.create_task(self._handle_call(event.channel.id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif not (started := self._started(event.channel.id)).done():
            started.set_result(None)

    def _on_end(self, event: ev.Event) -> None:
        """A channel left the app: forget it."""
        assert isinstance(event, ev.StasisEnd)
        self.started.pop(event.channel.id, None)

    async def _handle_call(self, channel_id: str) -> None:
        """What a minimal IVR does with a call: answer, play a beep, hang up."""
        try:
            await self.client.answer(channel_id)
            async with self.stream.expect(ev.PlaybackFinished, channel_id=channel_id) as w:
                await self.client.play(channel_id, "sound:beep")
                await w.wait(10)
            await self.client.hangup(channel_id)
        except Exception:
            self.calls_failed += 1
        self.calls_done += 1
        if self.calls_done >= self.calls_expected:
            self.all_calls_done.set()

    async def held_channel(self, http: aiohttp.ClientSession) -> str:
        """Place an inbound call into the app and answer it; returns its channel id."""
        body = {"to": "05050000001", "from": "01020003000", "app": APP, "args": ["hold"]}
        async with http.post(f"{self.base}/sim/calls", json=body) as resp:
            channel_id = str((await resp.json())["channel_id"])
        await asyncio.wait_for(self._started(channel_id), 10)
        await self.client.answer(channel_id)
        return channel_id


# -- the measurements ------------------------------------------------------------------------
@dataclass
class Figure:
    """One measurement: its name, table rows, operations counted, window and unit."""

    name: str
    lines: list[str]
    count: int
    window: Window
    unit: str = "ev"


Op = Callable[[int], Awaitable[Any]]


async def rest(engine: Engine, label: str, op: Op, in_flight: int) -> Figure:
    """Run ``op`` for SECONDS with ``in_flight`` requests outstanding; a table row."""
    await op(0)
    count, events0 = 0, engine.events
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await op(count)
            count += 1

    with Window(engine.server_pid) as window:
        await asyncio.gather(*(worker() for _ in range(in_flight)))
    events = engine.events - events0
    extra = f"{events / count:.0f} event/req" if events else ""
    label = f"{label}, {in_flight:>2} in flight"
    return Figure(label, [row(label, count, window, "req", extra)], count, window, "req")


async def rest_rows(engine: Engine, channel_id: str) -> list[Figure]:
    """Every REST figure: ping, set variable, get variable, at each in-flight level."""
    client = engine.client
    ops: list[tuple[str, Op]] = [
        ("GET /asterisk/ping", lambda i: client.ping()),
        ("POST /channels/{id}/variable", lambda i: client.set_variable(channel_id, "N", str(i))),
        ("GET /channels/{id}/variable", lambda i: client.get_variable(channel_id, "N")),
    ]
    figures = [await rest(engine, label, op, n) for label, op in ops for n in IN_FLIGHT]
    # The same ping as a RESTRequest frame on the events WebSocket (REST over WebSocket).
    client.use_websocket(engine.stream.rest)
    await engine.stream.rest.settled()
    try:
        for n in IN_FLIGHT:
            figures.append(await rest(engine, "ping over the events WebSocket", ops[0][1], n))
    finally:
        client.use_websocket(None)
    return figures


async def playbacks(engine: Engine, channels: list[str]) -> Figure:
    """Each channel plays a list of PLAY_ITEMS beeps, again and again, for SECONDS."""
    media = ["sound:beep"] * PLAY_ITEMS
    deadline = time.perf_counter() + SECONDS
    requests, events0 = 0, engine.events

    async def worker(channel_id: str) -> None:
        nonlocal requests
        while time.perf_counter() < deadline:
            async with engine.stream.expect(ev.PlaybackFinished, channel_id=channel_id) as w:
                await engine.client.play(channel_id, media)
                requests += 1
                await w.wait(30)

    with Window(engine.server_pid) as window:
        await asyncio.gather(*(worker(c) for c in channels))
    events = engine.events - events0
    label = f"playbacks: {len(channels)} channels x beep x{PLAY_ITEMS}"
    line = row(label, events, window, "ev", f"{events / requests:.0f} ev/req")
    return Figure(label, [line], events, window)


async def calls(engine: Engine) -> Figure:
    """CALLS inbound calls placed by a placer process; the engine answers, plays, hangs up."""
    engine.calls_done, engine.calls_expected = 0, CALLS
    engine.all_calls_done.clear()
    requests = 0

    def observe(_: object) -> None:
        nonlocal requests
        requests += 1

    engine.client.observer = observe
    placer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bench_ari",
        "place",
        f"{engine.base}/sim",
        str(CALLS),
        str(CALLS_IN_FLIGHT),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert placer.stdout is not None
    await placer.stdout.readline()  # "ready": imports and session done
    events0 = engine.events
    with Window(engine.server_pid) as window:
        await asyncio.wait_for(engine.all_calls_done.wait(), 60)
    report = (await placer.stdout.read()).decode().split()
    window.helper_cpu = float(report[-1]) if report[:1] == ["cpu"] else 0.0
    await placer.wait()
    engine.client.observer = None
    events = engine.events - events0
    failed = f", {engine.calls_failed} failed" if engine.calls_failed else ""
    label = "inbound calls: answer, play beep, hang up"
    per_call = f"{events / CALLS:.0f} ev + {requests / CALLS:.0f} req per call{failed}"
    return Figure(
        label,
        [
            row(label, events, window, "ev", per_call),
            row(f"  the same, per call ({CALLS} calls)", CALLS, window, "call"),
        ],
        events,
        window,
    )


# -- replay of the recorded stream (a server that keeps up) -----------------------------------
def recorded_events() -> list[dict[str, Any]]:
    """The real Asterisk 22.10.1 event stream, without the recorder's ``t`` field."""
    rows = [json.loads(line) for line in RECORDED.read_text().splitlines()]
    for item in rows:
        item.pop("t", None)
    return rows


async def _replayer(port_out: Connection) -> None:
    """A bare events WebSocket: sends the recording REPLAY_ROUNDS times, then ``BenchDone``."""
    frames = [json.dumps(e) for e in recorded_events()]

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for _ in range(REPLAY_ROUNDS):
            for frame in frames:
                await ws.send_str(frame)
        await ws.send_str(json.dumps({"type": "BenchDone"}))
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ari/events", events)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    await asyncio.get_running_loop().run_in_executor(None, port_out.recv)  # until told to stop
    await runner.cleanup()


def _serve_replay(conn: Connection) -> None:
    """The replay server process's entry point."""
    asyncio.run(_replayer(conn))


async def replay() -> str:
    """Receive the replayed recording over a WebSocket, parse and dispatch every event."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_replay, args=(child,), daemon=True)
    proc.start()
    try:
        port = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        stream = EventStream(
            f"http://127.0.0.1:{port}/ari", USER, PASSWORD, "replay", heartbeat=None
        )
        done = asyncio.Event()
        stream.subscribe(lambda e: None)
        stream.subscribe(lambda e: done.set(), types="BenchDone")
        with Window(proc.pid) as window:
            await stream.start()
            await asyncio.wait_for(done.wait(), 120)
        count = stream.health.events
        await stream.stop()
    finally:
        parent.send("stop")
        proc.join(10)
    return row("recorded 22.10.1 stream, bare replay server", count, window, "ev")


def in_process() -> str:
    """Decode, parse and dispatch the recording with no socket: the CPU floor per event."""
    rows = [json.dumps(e) for e in recorded_events()] * 100
    d = Dispatcher()
    d.subscribe(lambda e: None)
    d.subscribe(lambda e: None, channel_id="1795306312.101")
    with Window() as window:
        for text in rows:
            d.dispatch(parse_event(json.loads(text)))
    return row("recorded stream, no socket (json+parse+dispatch)", len(rows), window, "ev")


# -- the whole run ---------------------------------------------------------------------------
async def measure() -> tuple[int, list[str]]:
    """Start the simulator and the engine side, run every measurement; (sim pid, lines)."""
    sim, base = await start_simulator()
    engine = Engine(base, sim.pid)
    try:
        await engine.start()
        async with aiohttp.ClientSession() as http:
            held = [await engine.held_channel(http) for _ in range(PLAY_CHANNELS)]
        lines = ["REST round trips against the simulator", HEADER]
        rests = await rest_rows(engine, held[0])
        lines += [line for figure in rests for line in figure.lines]
        lines += ["events from the simulator, received, parsed and dispatched", HEADER]
        figures = [await playbacks(engine, held), await calls(engine)]
        lines += [line for figure in figures for line in figure.lines]
    finally:
        await engine.stop()
        sim.terminate()
        await sim.wait()
    lines += verdict([f for f in rests if f.name.endswith(f"{IN_FLIGHT[-1]} in flight")], figures)
    lines += [await replay(), in_process()]
    lines += contention([figure.window for figure in [*rests, *figures]])
    return sim.pid, lines


def verdict(rests: list[Figure], events: list[Figure]) -> list[str]:
    """Which side limits with a core each, and whether the simulator can saturate the engine.

    Unaffected by other load on the machine: it compares the CPU each side spends per
    operation, i.e. the rate each would reach with a core of its own.
    """
    lines, short = ["with a core each (operations / CPU second), engine vs simulator:"], False
    for figure in [*rests, *events]:
        window = figure.window
        if window.server_cpu is None:
            return ["  (the simulator's CPU time is unavailable here: no estimate)"]
        engine, server = figure.count / window.cpu, figure.count / window.server_cpu
        short = short or (figure.unit == "ev" and server < engine)
        lines.append(
            f"  {figure.name:<46} engine ~{engine:7,.0f} {figure.unit}/s   "
            f"simulator ~{server:7,.0f} {figure.unit}/s"
        )
    if short:
        lines.append("  so the simulator cannot produce events fast enough to saturate the engine")
    return [
        *lines,
        "the engine alone: the recorded 22.10.1 stream from a bare replay server that keeps up",
        "(not the simulator), and with no socket",
        HEADER,
    ]


def contention(windows: list[Window]) -> list[str]:
    """A warning when other processes took a noticeable share of the CPUs."""
    worst = max((w.others() or 0.0 for w in windows), default=0.0)
    if worst < 0.25:
        return []
    return [
        f"note: other processes used up to {worst:.0%} of a core during these runs; rates "
        "are understated,",
        "the engine CPU per operation is the steadier figure",
    ]


def main() -> None:
    """Entry point for ``python -m bench ari``: measure and print the table."""
    pid, lines = asyncio.run(measure())
    print(
        f"ARI: engine side (AriClient + EventStream) in this process (pid {os.getpid()}), "
        f"`ivr-engine sim --speed {SPEED:g}` in pid {pid}; {os.cpu_count()} CPUs, "
        f"{SECONDS:g} s per REST row"
    )
    for line in lines:
        print(line)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "place":
        asyncio.run(place_calls(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        main()
