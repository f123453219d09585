"""Call records through the CDR writer (COPY in batches) against one-row INSERTs, in the same
run, and hangup-to-durable latency (submit -> committed) under a steady load.

Uses DATABASE_URL's server (the role needs CREATEDB) or an embedded one in a temporary
directory; works in a database of its own, dropped at the end.
Aims: 50,000 records/s through the writer, over 20 times the one-row path.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_planner import bench_database
from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.records import CallRecord, Disposition
from ivr_engine.store.cdr_queries import insert_record
from ivr_engine.store.cdr_writer import CdrWriter
from ivr_engine.store.pool import connect

COPY_RECORDS = 200_000
NAIVE_SECONDS = 5.0
LOAD_RATE = 10_000  # records per second for the latency run
LOAD_SECONDS = 5.0
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def make_records(prefix: str, count: int) -> list[CallRecord]:
    """Answered calls with two attempts, two prompts and a reason, like a real forward."""
    out = []
    for i in range(count):
        start = T0 + timedelta(milliseconds=i * 37)
        call_id = f"{prefix}{i:09d}.{i % 97}"
        out.append(
            CallRecord(
                call_id,
                call_id,
                call_id,
                "gangnam-pizza",
                f"0505{i % 100_000:07d}",
                f"010{(i * 7919) % 10**8:08d}",
                f"+82 10-{i % 10000:04d}-{i % 9999:04d}",
                start,
                start + timedelta(seconds=1),
                start + timedelta(seconds=7),
                start + timedelta(seconds=7.2),
                start + timedelta(seconds=67.9),
                6.2,
                60,
                67,
                Disposition.ANSWERED,
                None,
                "ANSWERED",
                (
                    Attempt("01011112222", TargetResult.BUSY, 17, 0.4),
                    Attempt("023334444", TargetResult.ANSWERED, None, 5.1),
                ),
                "023334444",
                (
                    {
                        "kind": "coloring",
                        "label": "coloring",
                        "media": "sound:ivr/tts-1a2b",
                        "result": "",
                    },
                    {
                        "kind": "whisper",
                        "label": "whisper",
                        "media": "sound:ivr/tts-3c4d",
                        "result": "done",
                    },
                ),
                "callee",
                16,
                "open",
                ("open 11:00-15:00", "forward to 010-11**-22** then 02-33*-44** (sequential)"),
                42,
                "bench-node",
            )
        )
    return out


async def bench_copy(url: str, journal: Path) -> float:
    """Records per second through the writer, submit of the first to commit of the last."""
    records = make_records("c", COPY_RECORDS)
    # a queue that holds the whole run: nothing goes to the journal, this measures COPY
    writer = CdrWriter(url, journal, batch_size=5000, flush_interval=0.05, queue_size=COPY_RECORDS)
    await writer.start()
    t0 = time.perf_counter()
    for i in range(0, len(records), 1000):
        for record in records[i : i + 1000]:
            writer.submit(record)
        await asyncio.sleep(0)  # let the flusher run between hangups
    await writer.flush()
    elapsed = time.perf_counter() - t0
    stats = writer.stats
    await writer.close()
    assert stats.records_written == COPY_RECORDS, stats
    assert stats.records_journaled == 0, stats
    print(
        f"writer (COPY, batches of <= 5,000): {COPY_RECORDS:,} records in {elapsed:.2f} s "
        f"= {COPY_RECORDS / elapsed:,.0f} records/s ({stats.batches} batches, last "
        f"{(stats.last_flush_seconds or 0.0) * 1000:.0f} ms)"
    )
    return COPY_RECORDS / elapsed


async def bench_naive(url: str) -> float:
    """Records per second with one INSERT (and one commit) per record."""
    records = make_records("n", 100_000)
    conn = await connect(url)
    try:
        t0 = time.perf_counter()
        done = 0
        while time.perf_counter() - t0 < NAIVE_SECONDS and done < len(records):
            await insert_record(conn, records[done])
            done += 1
        elapsed = time.perf_counter() - t0
    finally:
        await conn.close()
    print(
        f"one-row INSERTs (autocommit): {done:,} records in {elapsed:.2f} s "
        f"= {done / elapsed:,.0f} records/s"
    )
    return done / elapsed


async def bench_latency(url: str, journal: Path) -> tuple[float, float]:
    """p50 / p99 milliseconds from submit to commit at LOAD_RATE records per second."""
    records = make_records("l", int(LOAD_RATE * LOAD_SECONDS))
    submitted: dict[str, float] = {}
    latencies: list[float] = []

    def committed(batch: Sequence[CallRecord]) -> None:
        now = time.perf_counter()
        latencies.extend(now - submitted[r.call_id] for r in batch)

    writer = CdrWriter(url, journal)  # the engine's defaults
    writer.add_listener(committed)
    await writer.start()
    tick = 0.01
    per_tick = int(LOAD_RATE * tick)
    t0 = time.perf_counter()
    for n, i in enumerate(range(0, len(records), per_tick)):
        delay = t0 + n * tick - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        for record in records[i : i + per_tick]:
            submitted[record.call_id] = now
            writer.submit(record)
    await writer.flush()
    await writer.close()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"hangup-to-durable at {LOAD_RATE:,} records/s for {LOAD_SECONDS:g} s "
        f"(batch <= {writer.batch_size:,}, flush every {writer.flush_interval * 1000:g} ms):"
        f" p50 {q[49] * 1000:.1f} ms  p99 {q[98] * 1000:.1f} ms  max "
        f"{max(latencies) * 1000:.1f} ms  (n={len(latencies):,})"
    )
    return q[49] * 1000, q[98] * 1000


async def run() -> None:
    """Measure the three figures and print the verdicts."""
    async with bench_database() as url:
        with tempfile.TemporaryDirectory(prefix="ivr-bench-journal-") as tmp:
            copy_rate = await bench_copy(url, Path(tmp) / "copy")
            naive_rate = await bench_naive(url)
            await bench_latency(url, Path(tmp) / "latency")
    ratio = copy_rate / naive_rate
    print(
        f"ratio writer / one-row: {ratio:.1f}x  (aim > 20x: "
        f"{'ok' if ratio > 20 else 'BELOW AIM'});  writer rate aim 50,000/s: "
        f"{'ok' if copy_rate >= 50_000 else 'BELOW AIM'}"
    )


def main() -> None:
    """Entry point for ``python -m bench cdr``."""
    asyncio.run(run())
