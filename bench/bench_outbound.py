"""Outbound call setups per second and engine CPU time per outbound call (click-to-call),
against the simulator in its own process.

The engine (this process) places each call as the API's ``POST /api/v1/calls`` does,
through its ``EngineDialer``: the member's context and the pure planner, the talk time
reserved under the member's row lock and the reverse-masking session written (Postgres),
the member rung, "connecting you", the customer rung showing the caller ID, both bridged;
the customer hangs up after 30 simulated seconds and the record and minutes are written
in one transaction. Calls are spread over ``MEMBERS`` members (one member's reservations
take turns on its row).

Printed per load level: calls completed per second, the engine's CPU time per call
(``os.times``: user and system), place-to-bridge latency p50/p99 (wall), and ARI requests
and events per call. Options (``python -m bench outbound --help``): ``--speed``,
``--level RATE:CALLS`` (repeatable), ``--loop uvloop|asyncio``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

from bench.bench_calls import pct, start_simulator
from bench.bench_planner import bench_database
from ivr_engine.asterisk.ari.http import RequestStat
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.outbound import Refusal
from ivr_engine.domain.outbound_record import OutboundOutcome
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, AmiSettings, AriSettings, PromptSettings, Settings
from ivr_engine.store import minutes
from ivr_engine.store.pool import connect

ROOT = Path(__file__).resolve().parents[1]
SPEED = 50.0
LEVELS = ((10, 100), (25, 250), (50, 400))  # (calls per second, calls)
MEMBERS = 50
CUSTOMER = "01020000001"


def mobile(n: int) -> str:
    """The n-th member's mobile."""
    return f"0107000{n:04d}"


def config() -> str:
    """A tenant with a verified caller ID and MEMBERS members."""
    members = "\n".join(f"      - {{name: 직원{n}, mobile: '{mobile(n)}'}}" for n in range(MEMBERS))
    return f"""
tenants:
  - id: bench
    name: 벤치
    caller_ids:
      - {{number: 0505-000-0001, verified: true}}
    outbound: {{ring_seconds: 20, rounding: per_second, max_call_minutes: 10}}
    members:
{members}
    numbers:
      - number: 0505-000-0001
        targets: [{{number: 010-0000-0001, ring_seconds: 20}}]
"""


async def behaviours(control: str) -> None:
    """Members answer after 1 s and stay; the customer answers after 1 s, talks 30 s."""
    async with aiohttp.ClientSession() as http:
        wanted = {mobile(n): "answer:1" for n in range(MEMBERS)} | {CUSTOMER: "answer:1:30"}
        for number, behaviour in wanted.items():
            async with http.put(
                f"{control}/behaviours/{number}", json={"behaviour": behaviour}
            ) as resp:
                assert resp.status == 204, await resp.text()


async def run_level(engine: RunningEngine, rate: int, count: int) -> None:
    """Place ``count`` click-to-calls at ``rate`` per second; print the figures."""
    dialer = engine.dialer
    assert dialer is not None
    ops: dict[str, int] = {}
    observer = engine.ari.observer

    def observe(stat: RequestStat) -> None:
        ops[stat.operation] = ops.get(stat.operation, 0) + 1
        if observer is not None:
            observer(stat)

    engine.ari.observer = observe
    events0 = engine.stream.health.events
    t0, wall0 = os.times(), time.perf_counter()
    placing: list[asyncio.Task[str | Refusal]] = []
    for n in range(count):  # concurrently, as API requests would
        delay = wall0 + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        placing.append(asyncio.create_task(dialer.place(mobile(n % MEMBERS), CUSTOMER)))
    placed = [str(c) for c in await asyncio.gather(*placing)]
    assert all(c.startswith("out-") for c in placed), placed
    tasks = [dialer.calls[c] for c in placed if c in dialer.calls]
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    t1, wall = os.times(), time.perf_counter() - wall0
    engine.ari.observer = observer
    done = [dialer.finished[c] for c in placed]
    completed = sum(1 for d in done if d.facts.outcome is OutboundOutcome.COMPLETED)
    setup = [
        (d.facts.connected - d.facts.started).total_seconds()
        for d in done
        if d.facts.connected is not None
    ]
    others = Counter(d.facts.outcome.value for d in done if d.facts.outcome.value != "completed")
    cpu = (t1.user - t0.user) + (t1.system - t0.system)
    events = engine.stream.health.events - events0
    print(
        f"  {rate:>4} calls/s offered: {count / wall:6.1f} calls/s completed, "
        f"{completed}/{count} talked, engine CPU {cpu / count * 1000:.2f} ms/call "
        f"(user {(t1.user - t0.user) / count * 1000:.2f}, "
        f"system {(t1.system - t0.system) / count * 1000:.2f}), place->bridge p50 "
        f"{pct(setup, 0.5):.0f} ms p99 {pct(setup, 0.99):.0f} ms (rings, prompt at speed); "
        f"{sum(ops.values()) / count:.1f} requests and {events / count:.1f} events per call"
        + (f"; not talked: {dict(others)}" if others else "")
    )


async def bench(args: argparse.Namespace) -> None:
    """Database, simulator and engine; every load level."""
    doc = parse_document(load_yaml(config()), "<bench>")
    levels = args.level or list(LEVELS)
    total = sum(c for _, c in levels)
    with tempfile.TemporaryDirectory() as tmp:
        sounds = Path(tmp) / "sounds"
        sounds.mkdir()
        sim, ari_url, control, ami_port = await start_simulator(sounds, args.speed)
        try:
            await behaviours(control)
            async with bench_database(doc) as url:
                conn = await connect(url)
                await minutes.charge(conn, "bench", total * 700, "bench")
                for n in range(MEMBERS):
                    await minutes.allocate(conn, "bench", mobile(n), total * 700 // MEMBERS)
                await conn.close()
                settings = Settings(
                    database_url=url,
                    data_dir=tmp,
                    http_port=0,
                    agi=AgiSettings(port=0),
                    ari=AriSettings(url=ari_url),
                    ami=AmiSettings(host="127.0.0.1", port=ami_port),
                    prompts=PromptSettings(sounds_dir=str(ROOT / "sounds")),
                )
                async with running_engine(settings, drain_timeout=5) as engine:
                    await engine.stream.rest.settled()
                    engine.env.time_scale = args.speed
                    print(
                        f"click-to-call through the simulator at speed {args.speed:g}, "
                        f"{args.loop} loop, {MEMBERS} members:"
                    )
                    for rate, count in levels:
                        await run_level(engine, rate, count)
        finally:
            sim.terminate()
            await sim.wait()


def level(text: str) -> tuple[int, int]:
    """``RATE:CALLS`` -> (calls per second, calls)."""
    rate, _, count = text.partition(":")
    return int(rate), int(count or 400)


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m bench outbound [options]``."""
    parser = argparse.ArgumentParser(prog="python -m bench outbound")
    parser.add_argument("--speed", type=float, default=SPEED)
    parser.add_argument("--level", type=level, action="append", metavar="RATE:CALLS")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv or [])
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main(sys.argv[1:])
