"""Call setups per second and engine CPU time per forwarded call, against the simulator.

Three processes, so each figure is its own: the simulator (``ivr-engine sim`` at a high speed
factor), a call placer (posting inbound calls to the simulator's control API at a steady
rate) and the engine (this process: sessions, ARI client, event stream, Postgres cache).
Every call is the full forward flow: coloring as early media, a target leg originated, the
whisper to the callee, coloring stopped, caller answered, both bridged, the callee hangs up.

Printed per load level: calls completed per second, the engine's CPU time per call
(``os.times``: user and system), and StasisStart-to-dial and StasisStart-to-bridge latency p50/p99,
requests per call and how many went over the events WebSocket, events per call by type.
Aim: under 1 ms of engine CPU per forwarded call.

Options (``python -m bench calls --help``): ``--speed`` (simulated seconds per second; 1 gives
real call lengths and so real concurrency), ``--level RATE:CALLS`` (repeatable),
``--loop uvloop|asyncio``, ``--http-only`` (no REST over WebSocket, for a paired run),
``--profile FILE`` (cProfile of the engine during the last level, for ``pstats``/snakeviz),
``--flamegraph SVG`` (py-spy's flame graph of the engine during the last level),
``--ami-unfiltered`` (``[ami] event_filter = false``: every AMI event, for a paired run).
The engine is logged in to the simulator's AMI as on a real box; the AMI events it received
per call are printed, and the simulator's own CPU per call beside the engine's (``/proc``).

Against a PBX already running: ``--ari-url URL`` (with ``--ari-user``, ``--ari-password``,
``--ami-host``, ``--ami-port``, ``--ami-user``, ``--ami-secret``, ``--no-ami``). A simulator
there (it answers ``/sim/info``) takes the calls from its control API as above; a real
Asterisk takes them from SIPp (``--sipp PATH``: callers and targets on loopback, see
``bench/sipp.py``; ``--sip-server HOST:PORT``, ``--sipp-targets-port``, ``--ring``,
``--talk``), and its CPU per call is read from ``/proc`` of its process (``--asterisk-pid``,
else the process named ``asterisk``) and printed beside the engine's, so the ratio comes
from one run. ``--sounds-dir`` is where the prompts are built (Asterisk's sounds
directory, e.g. ``/var/lib/asterisk/sounds``, for a real box; a temporary one otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from bench.bench_ari import process_cpu
from bench.bench_planner import bench_database
from bench.sipp import SippDriver, write_scenarios
from ivr_engine.asterisk.ari.client import AriClient
from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.http import RequestStat
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.trace import CallTrace
from ivr_engine.prompts.build import build_sounds, plan_jobs
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, AmiSettings, AriSettings, PromptSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
SPEED = 50.0
LEVELS = ((20, 100), (50, 250), (100, 400))  # (calls per second, calls)
# Per forwarded call, by the protocol facts (H) and the engine's event filter: StasisStart
# of caller and callee, the whisper's and the coloring's PlaybackFinished, then for each of
# the two channels a ChannelHangupRequest and a StasisEnd, and the callee's ChannelDestroyed
# (a plain inbound caller gets none). Requests: coloring, originate, whisper, coloring stop,
# answer, bridge create, addChannel, caller hangup, bridge destroy.
EXPECTED_EVENTS = {
    "StasisStart": 2,
    "PlaybackFinished": 2,
    "ChannelHangupRequest": 2,
    "StasisEnd": 2,
    "ChannelDestroyed": 1,
}
EXPECTED_REQUESTS = 9
CONFIG = """
tenants:
  - id: bench
    name: 벤치
    numbers:
      - number: 0505-000-0001
        targets: [{number: 010-0000-0001, ring_seconds: 20}]
        coloring: {text: "잠시만 기다려 주세요."}
        whisper: {text: "광고 전화입니다."}
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_simulator(
    sounds: Path, speed: float = SPEED, behaviour: str = "answer:1:6"
) -> tuple[asyncio.subprocess.Process, str, str, int]:
    """``ivr-engine sim`` in its own process; returns it, its ARI URL, control URL and AMI
    port."""
    port, ami_port = free_port(), free_port()
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
        str(ami_port),
        "--speed",
        str(speed),
        "--sounds",
        str(sounds),
        "--sounds",
        str(ROOT / "sounds"),
        stdout=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    control = f"http://127.0.0.1:{port}/sim"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"{control}/info") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the simulator did not start")
        async with http.put(
            f"{control}/behaviours/01000000001", json={"behaviour": behaviour}
        ) as resp:
            assert resp.status == 204, await resp.text()
    return proc, f"http://127.0.0.1:{port}/ari", control, ami_port


async def place_calls(control: str, count: int, rate: float) -> None:
    """The placer process: ``count`` inbound calls at ``rate`` per second."""
    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        tasks = []
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = {"to": "05050000001", "from": f"0102000{n % 10000:04d}"}
            tasks.append(asyncio.create_task(http.post(f"{control}/calls", json=body)))
        for resp in await asyncio.gather(*tasks):
            resp.release()


@dataclass
class Pbx:
    """What the engine is measured against: where it logs in, how calls are placed, whose
    CPU is printed beside the engine's."""

    kind: str  # "simulator" or "Asterisk"
    ari: AriSettings
    ami: AmiSettings | None
    place: Callable[[int, int], Awaitable[int]]  # (rate, calls) -> the placer's exit status
    pid: int | None  # the server process read from /proc (None: not on this machine)
    settle: float  # seconds a level may take past its placing, for calls still up


async def place_through_control(control: str, rate: int, count: int) -> int:
    """A placer process posting ``count`` calls to the simulator's control API."""
    placer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_calls", "place", control, str(count), str(rate), cwd=ROOT
    )
    return await placer.wait()


async def simulator_info(base: str) -> dict[str, object] | None:
    """The simulator's ``/sim/info`` at ``base`` (``http://host:port``), None when the
    server there is not a simulator (a real Asterisk has no such page)."""
    timeout = aiohttp.ClientTimeout(total=5)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{base}/sim/info", timeout=timeout) as r,
        ):
            if r.status != 200:
                return None
            info = await r.json()
            return info if isinstance(info, dict) else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def probe_ari(ari: AriSettings) -> None:
    """Exit with the reason when no ARI answers at ``ari.url`` with these credentials."""
    try:
        async with AriClient(ari.url, ari.user, ari.password, timeout=5) as client:
            await client.info()
    except AriError as exc:
        raise SystemExit(f"no usable ARI at {ari.url}: {exc}") from None


def asterisk_pid() -> int | None:
    """The pid of the process named ``asterisk`` on this machine (None: there is none)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "asterisk":
                    return int(proc.name)
            except OSError:
                continue
    return None


@asynccontextmanager
async def open_pbx(args: argparse.Namespace, sounds: Path, tmp: Path) -> AsyncIterator[Pbx]:
    """The simulator started here, a simulator or a real Asterisk already running."""
    if not args.ari_url:
        sim, ari_url, control, ami_port = await start_simulator(sounds, args.speed)
        try:
            yield Pbx(
                "simulator",
                AriSettings(url=ari_url, rest_over_websocket=not args.http_only),
                AmiSettings(host="127.0.0.1", port=ami_port, event_filter=not args.ami_unfiltered),
                lambda rate, count: place_through_control(control, rate, count),
                sim.pid,
                120.0,
            )
        finally:
            sim.terminate()
            await sim.wait()
        return
    parts = urlsplit(args.ari_url)
    base = f"{parts.scheme}://{parts.netloc}"
    host = parts.hostname or "127.0.0.1"
    ari = AriSettings(
        url=args.ari_url,
        user=args.ari_user,
        password=args.ari_password,
        rest_over_websocket=not args.http_only,
    )
    info = await simulator_info(base)
    ami_port = int(str(args.ami_port or (info or {}).get("ami_port") or 5038))
    ami = (
        None
        if args.no_ami
        else AmiSettings(
            host=args.ami_host or host,
            port=ami_port,
            user=args.ami_user,
            secret=args.ami_secret,
            event_filter=not args.ami_unfiltered,
        )
    )
    if info is not None:
        control = f"{base}/sim"
        async with (
            aiohttp.ClientSession() as http,
            http.put(f"{control}/behaviours/01000000001", json={"behaviour": "answer:1:6"}) as resp,
        ):
            assert resp.status == 204, await resp.text()
        pid = args.asterisk_pid or info.get("pid")
        yield Pbx(
            "simulator",
            ari,
            ami,
            lambda rate, count: place_through_control(control, rate, count),
            int(str(pid)) if pid else None,
            120.0,
        )
        return
    await probe_ari(ari)
    if not args.sipp:
        raise SystemExit(
            f"{args.ari_url} is a real Asterisk (no /sim/info): calls are placed with SIPp, "
            "give --sipp PATH (see bench/sipp.py for the trunk it plays)"
        )
    scenarios = write_scenarios(tmp, ring_ms=int(args.ring * 1000), talk_ms=int(args.talk * 1000))
    driver = SippDriver(
        args.sipp,
        scenarios,
        server=args.sip_server or f"{host}:5060",
        uas_port=args.sipp_targets_port,
    )
    targets = await driver.start_targets()
    try:
        yield Pbx(
            "Asterisk",
            ari,
            ami,
            driver.place,
            args.asterisk_pid or asterisk_pid(),
            30.0 + args.ring + args.talk,
        )
    finally:
        targets.terminate()
        await targets.wait()


def pct(values: list[float], q: float) -> float:
    """The q-quantile of values (ms)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def latencies(traces: list[CallTrace], kind: str) -> list[float]:
    """Seconds from the session's start to its first entry of ``kind``."""
    out = []
    for trace in traces:
        first = next((e.at for e in trace.entries if e.kind == kind), None)
        if first is not None:
            out.append((first - trace.started).total_seconds())
    return out


async def start_flamegraph(path: str) -> asyncio.subprocess.Process:
    """py-spy sampling this process (the engine) into an SVG flame graph until interrupted.
    It reads the process from outside without stopping it; the CPU figures of such a run
    carry its reading too, so take them from a run without it."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(os.getpid()),
        "--output",
        path,
        "--format",
        "flamegraph",
        "--rate",
        "250",
        "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def run_level(
    engine: RunningEngine,
    pbx: Pbx,
    rate: int,
    count: int,
    profile: str | None = None,
    flamegraph: str | None = None,
    detail: bool = False,
) -> bool:
    """One load level: place, wait for every call's end, print the figures. False when the
    calls' events or requests differ from what Asterisk sends for this flow."""
    done: asyncio.Queue[CallTrace] = asyncio.Queue()
    engine.dispatcher.on_session.append(done)
    # Counted beside the engine's own observers (metrics), as cheaply as can be.
    ops: dict[str, int] = {}
    kinds: dict[str, int] = {}
    metrics_observer = engine.ari.observer

    def observe(stat: RequestStat) -> None:
        ops[stat.operation] = ops.get(stat.operation, 0) + 1
        if metrics_observer is not None:
            metrics_observer(stat)

    engine.ari.observer = observe
    sub = engine.stream.subscribe(lambda e: kinds.__setitem__(e.type, kinds.get(e.type, 0) + 1))
    events0, ws0 = engine.stream.health.events, engine.stream.rest.sent
    ami0 = Counter(engine.ami.event_counts) if engine.ami is not None else Counter()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile(time.process_time)  # CPU time, not wall: no waits counted
        prof.enable()
    spy = await start_flamegraph(flamegraph) if flamegraph else None
    t0, wall0, server0 = os.times(), time.perf_counter(), process_cpu(pbx.pid)
    traces: list[CallTrace] = []

    async def collect() -> None:
        while len(traces) < count:
            traces.append(await done.get())

    collector = asyncio.create_task(collect())
    status = await pbx.place(rate, count)
    try:
        await asyncio.wait_for(asyncio.shield(collector), pbx.settle)
    except TimeoutError:
        collector.cancel()
    t1, wall, server1 = os.times(), time.perf_counter() - wall0, process_cpu(pbx.pid)
    if prof is not None and profile:
        prof.disable()
        prof.dump_stats(profile)
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes the SVG when interrupted
        await spy.wait()
        print(f"    flame graph of the engine during this level: {flamegraph}")
    user, system = t1.user - t0.user, t1.system - t0.system
    cpu = user + system
    sub.close()
    engine.dispatcher.on_session.remove(done)
    engine.ari.observer = metrics_observer
    events = engine.stream.health.events - events0
    ami_events = (Counter(engine.ami.event_counts) - ami0) if engine.ami is not None else ami0
    over_ws = engine.stream.rest.sent - ws0
    bridged = sum(1 for t in traces if t.answered_target)
    if traces and not bridged:
        print(traces[0].render())
    if len(traces) < count or status != 0:
        print(
            f"    {len(traces)} of {count} calls reached the engine and ended "
            f"(the placer exited with status {status})"
        )
    if not traces:
        return False
    count = len(traces)  # figures per call that was measured
    dial, bridge = latencies(traces, "ring"), latencies(traces, "bridge")
    print(
        f"  {rate:>4} calls/s offered: {count / wall:6.1f} calls/s completed, "
        f"{bridged}/{count} bridged, engine CPU {cpu / count * 1000:.2f} ms/call "
        f"(user {user / count * 1000:.2f}, system {system / count * 1000:.2f}), "
        f"StasisStart->dial p50 {pct(dial, 0.5):.1f} ms p99 {pct(dial, 0.99):.1f} ms, "
        f"->bridge p50 {statistics.median(bridge) * 1000:.0f} ms; "
        f"{sum(ops.values()) / count:.1f} requests ({over_ws / count:.1f} over the WebSocket) "
        f"and {events / count:.1f} events per call; "
        f"{ami_events.total() / count:.1f} AMI events per call"
    )
    if server0 is not None and server1 is not None:
        server = (server1 - server0) / count * 1000
        print(
            f"    {pbx.kind} CPU {server:.2f} ms/call (pid {pbx.pid}, from /proc): "
            f"engine to {pbx.kind} 1 : {server / (cpu / count * 1000):.1f}"
            if server > 0 and cpu > 0
            else f"    {pbx.kind} CPU not measurable (pid {pbx.pid})"
        )
    else:
        print(f"    {pbx.kind} CPU not read: its process is not on this machine (--asterisk-pid)")
    per_call = {k: round(v / count, 2) for k, v in Counter(kinds).most_common()}
    requests = round(sum(ops.values()) / count, 1)
    matches = per_call == EXPECTED_EVENTS and requests == EXPECTED_REQUESTS
    if not matches:
        print(
            f"    MISMATCH with Asterisk's per-call counts: events {per_call}, requests {requests}"
        )
    if detail:
        print(
            "    requests per call: "
            + ", ".join(f"{op} {n / count:.1f}" for op, n in Counter(ops).most_common())
        )
        print("    events per call: " + ", ".join(f"{k} {v:g}" for k, v in per_call.items()))
        print(
            "    AMI events per call: "
            + (", ".join(f"{k} {n / count:g}" for k, n in ami_events.most_common()) or "none")
        )
    return matches


async def bench(args: argparse.Namespace) -> bool:
    """Set up database, prompts, simulator and engine; run every load level. False when a
    level's per-call counts differed from Asterisk's."""
    doc = parse_document(load_yaml(CONFIG), "<bench>")
    levels = args.level or list(LEVELS)
    mismatched = False
    with tempfile.TemporaryDirectory() as tmp:
        sounds = Path(args.sounds_dir) if args.sounds_dir else Path(tmp) / "sounds"
        jobs, _ = plan_jobs(iter_prompts(doc), "ko", "espeak", ROOT)
        build_sounds(jobs, sounds, engine="espeak")
        async with open_pbx(args, sounds, Path(tmp)) as pbx, bench_database(doc) as url:
            settings = Settings(
                database_url=url,
                data_dir=tmp,
                http_port=0,
                agi=AgiSettings(port=0),
                ari=pbx.ari,
                ami=pbx.ami or AmiSettings(),
                prompts=PromptSettings(sounds_dir=str(sounds)),
            )
            async with running_engine(settings, drain_timeout=5) as engine:
                await engine.stream.rest.settled()
                print(
                    f"forward flow through the {pbx.kind} at {args.ari_url or 'speed'}"
                    f"{'' if args.ari_url else f' {args.speed:g}'}, "
                    f"{args.loop} loop, requests over "
                    f"{'the events WebSocket' if engine.stream.rest.available else 'HTTP'}, "
                    + (
                        "no AMI:"
                        if pbx.ami is None
                        else f"AMI events {'unfiltered' if args.ami_unfiltered else 'filtered'}:"
                    )
                )
                for n, (rate, count) in enumerate(levels):
                    last = n == len(levels) - 1
                    matched = await run_level(
                        engine,
                        pbx,
                        rate,
                        count,
                        args.profile if last else None,
                        args.flamegraph if last else None,
                        detail=last,
                    )
                    mismatched = mismatched or not matched
    return not mismatched


def level(text: str) -> tuple[int, int]:
    """``RATE:CALLS`` -> (calls per second, calls)."""
    rate, _, count = text.partition(":")
    return int(rate), int(count or 400)


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m bench calls [options]``."""
    parser = argparse.ArgumentParser(prog="python -m bench calls")
    parser.add_argument("--speed", type=float, default=SPEED)
    parser.add_argument("--level", type=level, action="append", metavar="RATE:CALLS")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--http-only", action="store_true")
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--flamegraph", metavar="SVG")
    parser.add_argument("--ami-unfiltered", action="store_true")
    parser.add_argument("--ari-url", metavar="URL", help="a PBX already running: its ARI")
    parser.add_argument("--ari-user", default=AriSettings.user)
    parser.add_argument("--ari-password", default=AriSettings.password)
    parser.add_argument("--ami-host", help="default: the ARI URL's host")
    parser.add_argument("--ami-port", type=int, help="default: the simulator's, else 5038")
    parser.add_argument("--ami-user", default=AmiSettings.user)
    parser.add_argument("--ami-secret", default=AmiSettings.secret)
    parser.add_argument("--no-ami", action="store_true", help="do not log in to AMI")
    parser.add_argument("--sipp", metavar="PATH", help="SIPp, placing calls on a real Asterisk")
    parser.add_argument("--sip-server", metavar="HOST:PORT", help="default: ARI host:5060")
    parser.add_argument("--sipp-targets-port", type=int, default=5070)
    parser.add_argument("--ring", type=float, default=1.0, help="seconds a target rings (SIPp)")
    parser.add_argument("--talk", type=float, default=3.0, help="seconds a target talks (SIPp)")
    parser.add_argument("--asterisk-pid", type=int, help="the PBX process read from /proc")
    parser.add_argument("--sounds-dir", metavar="DIR", help="where the prompts are built")
    args = parser.parse_args(argv or [])
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    if not asyncio.run(bench(args)):
        raise SystemExit("the per-call event or request counts differ from Asterisk's")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "place":
        asyncio.run(place_calls(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    else:
        main(sys.argv[1:])
