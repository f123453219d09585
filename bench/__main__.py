"""Run the benchmarks: every ``bench/bench_*.py`` module's ``main()``, or the ones named."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def available() -> list[str]:
    """Names of the benchmark modules (``bench_planner.py`` -> ``planner``)."""
    here = Path(__file__).resolve().parent
    return sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none are named); 2 on an unknown name."""
    if len(argv) > 1 and argv[0] in available() and argv[1].startswith("-"):
        # One benchmark with its own options: python -m bench calls --speed 1
        print(f"== {argv[0]}")
        importlib.import_module(f"bench.bench_{argv[0]}").main(argv[1:])
        return 0
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}",
            file=sys.stderr,
        )
        return 2
    for name in names:
        print(f"== {name}")
        started = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
