"""Engine memory per active call: many forwarded calls held up at once through the simulator.

The simulator runs in its own process at speed 1 with a target that answers and then talks
for an hour; calls are placed at a steady rate until ``--calls`` are bridged at the same time.
Printed: the engine's resident set size (``/proc/self/status`` VmRSS) before and with every
call up, the difference per active call, and Python's own allocations per call
(``tracemalloc``-free: ``sys.getallocatedblocks`` is not enough, so RSS is the figure).
Aims: <= 20 KB per active call; 10,000 concurrent calls <= 300 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.bench_calls import CONFIG, ROOT, place_calls, start_simulator
from bench.bench_planner import bench_database
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.prompts.build import build_sounds, plan_jobs
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, AriSettings, PromptSettings, Settings
from ivr_engine.store.loader import load_document
from ivr_engine.store.migrate import migrate
from ivr_engine.store.pool import connect


def rss_kb() -> int:
    """This process's resident set size in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def talking(engine: RunningEngine) -> int:
    """Calls whose caller and target are bridged now."""
    return sum(1 for s in engine.dispatcher.live.values() if s.talking)


async def hold(engine: RunningEngine, control: str, calls: int, rate: float) -> None:
    """Place ``calls`` calls and print the memory figures once they are all talking."""
    gc.collect()
    before = rss_kb()
    started = time.perf_counter()
    await place_calls(control, calls, rate)
    while talking(engine) < calls:
        if time.perf_counter() - started > calls / rate + 120:
            print(f"  only {talking(engine)}/{calls} calls bridged; giving up")
            return
        await asyncio.sleep(0.5)  # a benchmark polling its own figure, not a test
    gc.collect()
    after = rss_kb()
    per_call = (after - before) / calls
    print(
        f"  {calls} calls bridged at once: engine RSS {before / 1024:.0f} MB before, "
        f"{after / 1024:.0f} MB with every call up; {per_call:.1f} KB per active call "
        f"(aim <= 20 KB; <= 300 MB for 10,000 calls: "
        f"{'met' if per_call <= 20 and after <= 300 * 1024 else 'not met'})"
    )


async def bench(args: argparse.Namespace) -> None:
    """Database, prompts, simulator, engine; then hold the calls."""
    doc = parse_document(yaml.safe_load(CONFIG), "<bench>")
    with tempfile.TemporaryDirectory() as tmp:
        sounds = Path(tmp) / "sounds"
        jobs, _ = plan_jobs(iter_prompts(doc), "ko", "espeak", ROOT)
        build_sounds(jobs, sounds, engine="espeak")
        sim, ari_url, control, _ami_port = await start_simulator(sounds, 1.0, "answer:1:3600")
        try:
            async with bench_database() as url:
                conn = await connect(url)
                await migrate(conn)
                await load_document(conn, doc, source="<bench>")
                await conn.close()
                settings = Settings(
                    database_url=url,
                    data_dir=tmp,
                    http_port=0,
                    agi=AgiSettings(port=0),
                    ari=AriSettings(url=ari_url),
                    prompts=PromptSettings(sounds_dir=str(sounds)),
                )
                async with running_engine(settings, drain_timeout=0.1) as engine:
                    print(f"calls held up through the simulator ({args.rate:g} calls/s placed):")
                    await hold(engine, control, args.calls, args.rate)
        finally:
            sim.terminate()
            await sim.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m bench memory [--calls N] [--rate R]``."""
    parser = argparse.ArgumentParser(prog="python -m bench memory")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args(argv or [])
    import uvloop

    uvloop.install()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main(sys.argv[1:])
