"""Engine memory per active call: many forwarded calls held up at once through the simulator.

The simulator runs in its own process at speed 1 with a target that answers and then talks
for an hour; calls are placed at a steady rate until ``--calls`` are bridged at the same time.
The calls are placed by a process of their own (as in ``bench calls``), so the engine's
figure holds only the engine. Printed: the engine's resident set size (``/proc/self/status``
VmRSS) before and with every call up and the difference per active call.
Aims: <= 20 KB per active call; 10,000 concurrent calls <= 300 MB RSS.

``--top N`` also traces Python's allocations (``tracemalloc``, which slows the engine
several times over and adds its own memory to RSS, so the RSS figure of such a run is not
the engine's) and prints the N allocation sites, grouped by traceback, that hold the most
bytes per held call, plus the traced total per call. Traced, the engine keeps up with
about 1,000 calls at 200 calls/s; with many more calls ARI requests start timing out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.bench_calls import CONFIG, ROOT, start_simulator
from bench.bench_planner import bench_database
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.prompts.build import build_sounds, plan_jobs
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, AriSettings, PromptSettings, Settings

TOP_FRAMES = 12  # frames kept per traced allocation


def rss_kb() -> int:
    """This process's resident set size in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def talking(engine: RunningEngine) -> int:
    """Calls whose caller and target are bridged now."""
    return sum(1 for s in engine.dispatcher.live.values() if s.talking)


def print_top(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, calls: int, n: int
) -> None:
    """The ``n`` allocation sites (by traceback) holding the most bytes per held call."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    diffs = after.compare_to(before, "traceback")
    total = sum(d.size_diff for d in diffs)
    print(
        f"  traced Python allocations: {total / calls / 1024:.1f} KB per held call "
        f"({sum(d.count_diff for d in diffs) / calls:.0f} blocks); top {n} sites:"
    )
    for diff in sorted(diffs, key=lambda d: d.size_diff, reverse=True)[:n]:
        print(
            f"  {diff.size_diff / calls:7.0f} B {diff.count_diff / calls:5.1f} blocks  "
            + " < ".join(site(frame) for frame in reversed(diff.traceback) if keep(frame))
        )
    by_line: dict[str, list[int]] = {}
    for diff in diffs:
        ours = next((f for f in reversed(diff.traceback) if "/ivr_engine/" in f.filename), None)
        totals = by_line.setdefault(site(ours) if ours else "(outside the engine)", [0, 0])
        totals[0] += diff.size_diff
        totals[1] += diff.count_diff
    print(f"  the same by the engine's line that allocated (directly or in a library), top {n}:")
    for line, (size, count) in sorted(by_line.items(), key=lambda kv: -kv[1][0])[:n]:
        print(f"  {size / calls:7.0f} B {count / calls:5.1f} blocks  {line}")


def keep(frame: tracemalloc.Frame) -> bool:
    """Frames worth printing: the engine's own, and the library line that allocated."""
    return "/bench/" not in frame.filename and "runners.py" not in frame.filename


def site(frame: tracemalloc.Frame) -> str:
    """``package/module.py:line`` of one frame."""
    parts = Path(frame.filename).parts
    return f"{'/'.join(parts[-2:])}:{frame.lineno}"


async def hold(engine: RunningEngine, control: str, args: argparse.Namespace) -> None:
    """Place ``args.calls`` calls and print the memory figures once they are all talking."""
    calls, rate = args.calls, args.rate
    gc.collect()
    snap0 = tracemalloc.take_snapshot() if args.top else None
    before = rss_kb()
    started = time.perf_counter()
    placer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_calls", "place", control, str(calls), str(rate), cwd=ROOT
    )
    try:
        while talking(engine) < calls:
            if time.perf_counter() - started > calls / rate + 120:
                print(f"  only {talking(engine)}/{calls} calls bridged; giving up")
                return
            await asyncio.sleep(0.5)  # a benchmark polling its own figure, not a test
    finally:
        await placer.wait()
    gc.collect()
    after = rss_kb()
    per_call = (after - before) / calls
    print(
        f"  {calls} calls bridged at once: engine RSS {before / 1024:.0f} MB before, "
        f"{after / 1024:.0f} MB with every call up; {per_call:.1f} KB per active call "
        f"(aim <= 20 KB; <= 300 MB for 10,000 calls: "
        f"{'met' if per_call <= 20 and after <= 300 * 1024 else 'not met'})"
        + (" [tracemalloc on: RSS includes its own bookkeeping]" if args.top else "")
    )
    if snap0 is not None:
        print_top(snap0, tracemalloc.take_snapshot(), calls, args.top)


async def bench(args: argparse.Namespace) -> None:
    """Database, prompts, simulator, engine; then hold the calls."""
    doc = parse_document(load_yaml(CONFIG), "<bench>")
    with tempfile.TemporaryDirectory() as tmp:
        sounds = Path(tmp) / "sounds"
        jobs, _ = plan_jobs(iter_prompts(doc), "ko", "espeak", ROOT)
        build_sounds(jobs, sounds, engine="espeak")
        sim, ari_url, control, _ami_port = await start_simulator(sounds, 1.0, "answer:1:3600")
        try:
            async with bench_database(doc) as url:
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
                    await hold(engine, control, args)
        finally:
            sim.terminate()
            await sim.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m bench memory [--calls N] [--rate R]``."""
    parser = argparse.ArgumentParser(prog="python -m bench memory")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument(
        "--top", type=int, default=0, metavar="N", help="print the N top allocation sites"
    )
    args = parser.parse_args(argv or [])
    if args.top:
        tracemalloc.start(TOP_FRAMES)
    import uvloop

    uvloop.install()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main(sys.argv[1:])
