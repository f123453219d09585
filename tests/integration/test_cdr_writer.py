"""The CDR writer against a real PostgreSQL: batches via COPY, exactly once across duplicate
submits, retries, journal replays and restarts, the journal while the database is cut off
(through TcpProxy), close() flushing, companions in the same transaction."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.records import CallRecord, ClosedState, Disposition
from ivr_engine.store.cdr_queries import count_records, fetch_record
from ivr_engine.store.cdr_writer import CdrWriter
from ivr_engine.store.journal import Journal
from tests.support.tcp_proxy import TcpProxy

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def make_record(i: int, **changes: object) -> CallRecord:
    """An answered call (the i-th of a run) with two attempts and a prompt."""
    start = T0 + timedelta(seconds=i)
    record = CallRecord(
        call_id=f"17636076{i:08d}.1",
        uniqueid=f"17636076{i:08d}.1",
        linkedid=f"17636076{i:08d}.1",
        tenant_id="gangnam-pizza",
        number="05051234567",
        caller=f"0102000{i % 10000:04d}",
        caller_raw=f"+82 10-2000-{i % 10000:04d}",
        start_time=start,
        ring_time=start + timedelta(seconds=1),
        answer_time=start + timedelta(seconds=6),
        connect_time=start + timedelta(seconds=6),
        end_time=start + timedelta(seconds=66.5),
        ring_seconds=5.0,
        billsec=60,
        duration=66,
        disposition=Disposition.ANSWERED,
        closed_state=None,
        asterisk_disposition="ANSWERED",
        attempts=(
            Attempt("01011112222", TargetResult.BUSY, 17, 0.3),
            Attempt("023334444", TargetResult.ANSWERED, None, 4.7),
        ),
        answered_target="023334444",
        prompts=(
            {"kind": "coloring", "label": "coloring", "media": "sound:ivr/tts-1", "result": ""},
        ),
        hangup_by="callee",
        hangup_cause=16,
        plan_state="open",
        reasons=("영업시간 11:00-15:00",),
        config_version=7,
        node="node-a",
        channel=f"PJSIP/carrier-{2 * i:08x}",
        dstchannel=f"PJSIP/carrier-{2 * i + 1:08x}",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def records(start: int, count: int) -> list[CallRecord]:
    return [make_record(i) for i in range(start, start + count)]


@asynccontextmanager
async def started(writer: CdrWriter) -> AsyncIterator[CdrWriter]:
    await writer.start()
    try:
        yield writer
    finally:
        await writer.close()


async def stored_ids(pool: asyncpg.Pool) -> list[str]:
    return [r["call_id"] for r in await pool.fetch("SELECT call_id FROM call_records")]


# -- a TCP endpoint for the test server (the embedded one listens on a Unix socket) --------
async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@asynccontextmanager
async def tcp_endpoint(db_url: str) -> AsyncIterator[tuple[str, int]]:
    """(host, port) reaching the database server over TCP: the URL's own, or a forwarder
    from a local TCP port to its Unix socket."""
    parts = urlsplit(db_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    if not host.startswith("/"):
        yield host, parts.port or 5432
        return
    path = f"{host}/.s.PGSQL.{parts.port or 5432}"
    tasks: set[asyncio.Task[None]] = set()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        u_reader, u_writer = await asyncio.open_unix_connection(path)
        pair = [
            asyncio.ensure_future(_pump(reader, u_writer)),
            asyncio.ensure_future(_pump(u_reader, writer)),
        ]
        tasks.update(pair)
        await asyncio.gather(*pair)

    server = await asyncio.start_server(forward, "127.0.0.1", 0)
    try:
        yield "127.0.0.1", server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@pytest.fixture
async def proxy(db_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A TcpProxy in front of the test database, and the URL that goes through it."""
    parts = urlsplit(db_url)
    async with tcp_endpoint(db_url) as (host, port), TcpProxy(host, port) as p:
        user = parts.username or "postgres"
        yield p, f"postgresql://{user}@127.0.0.1:{p.port}{parts.path}"


# -- the tests ------------------------------------------------------------------------------
async def test_batches_go_through_copy(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    writer = CdrWriter(db_url, tmp_path / "journal", batch_size=100, flush_interval=0.05)
    async with started(writer):
        for record in records(0, 250):
            writer.submit(record)
        await writer.flush()
        stats = writer.stats
    assert await count_records(pool) == 250
    assert stats.records_written == 250 and stats.records_duplicate == 0
    assert stats.batches >= 3  # 250 records never fit in fewer batches of 100
    assert stats.last_flush_seconds is not None and stats.journal_records == 0
    row = await fetch_record(pool, make_record(7).call_id)
    assert row is not None
    assert row["attempts"] == [
        {"target": "01011112222", "result": "busy", "cause": 17, "ring_seconds": 0.3},
        {"target": "023334444", "result": "answered", "cause": None, "ring_seconds": 4.7},
    ]
    assert row["reasons"] == ["영업시간 11:00-15:00"]
    assert (row["billsec"], row["duration"], row["disposition"]) == (60, 66, "ANSWERED")
    assert row["start_time"] == T0 + timedelta(seconds=7)


async def test_duplicates_are_written_once_and_companions_see_them_once(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await pool.execute("CREATE TABLE companion_log (call_id text, n int)")
    calls: list[str] = []

    async def companion(conn: asyncpg.Connection, batch: list[CallRecord]) -> None:
        calls.extend(r.call_id for r in batch)
        await conn.executemany(
            "INSERT INTO companion_log VALUES ($1, 1)", [(r.call_id,) for r in batch]
        )

    writer = CdrWriter(db_url, tmp_path / "journal", batch_size=10)
    writer.add_companion(companion)
    async with started(writer):
        batch = records(0, 20)
        for record in batch + batch[:5]:  # the same records again, in the same batch
            writer.submit(record)
        await writer.flush()
        for record in batch:  # and again later, in batches of their own
            writer.submit(record)
        await writer.flush()
        stats = writer.stats
    assert sorted(await stored_ids(pool)) == sorted(r.call_id for r in batch)
    assert sorted(calls) == sorted(r.call_id for r in batch)
    assert await pool.fetchval("SELECT count(*) FROM companion_log") == 20
    assert (stats.records_written, stats.records_duplicate) == (20, 25)


async def test_companions_read_jsonb_as_python_values(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Companions read through the writer's own connection (the callback texts read number
    configurations there): its jsonb comes back as mappings, as on the engine's pool."""
    seen: list[object] = []

    async def companion(conn: asyncpg.Connection, batch: Sequence[CallRecord]) -> None:
        seen.append(await conn.fetchval("""SELECT '{"a": 1}'::jsonb"""))

    writer = CdrWriter(db_url, tmp_path / "journal")
    writer.add_companion(companion)
    async with started(writer):
        writer.submit(make_record(0))
        await writer.flush()
    assert seen == [{"a": 1}]


async def test_a_failing_companion_rolls_its_record_back(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    bad = make_record(3).call_id

    async def companion(conn: asyncpg.Connection, batch: list[CallRecord]) -> None:
        if any(r.call_id == bad for r in batch):
            raise ValueError("no text for this call")

    writer = CdrWriter(db_url, tmp_path / "journal")
    writer.add_companion(companion)
    async with started(writer):
        for record in records(0, 6):
            writer.submit(record)
        await writer.flush()
        assert writer.stats.records_rejected == 1
    assert sorted(await stored_ids(pool)) == sorted(
        r.call_id for r in records(0, 6) if r.call_id != bad
    )
    rejected = (tmp_path / "journal" / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["call_id"] for line in rejected] == [bad]


async def test_database_cut_off_then_back_every_record_lands_once(
    proxy: tuple[TcpProxy, str], pool: asyncpg.Pool, tmp_path: Path
) -> None:
    p, url = proxy
    writer = CdrWriter(
        url,
        tmp_path / "journal",
        batch_size=50,
        flush_interval=0.01,
        retry_initial=0.05,
        retry_max=0.2,
    )
    async with started(writer):
        for record in records(0, 100):
            writer.submit(record)
        await writer.flush()
        assert await count_records(pool) == 100
        # Postgres goes away mid-stream: live connections cut, new ones refused.
        for record in records(100, 100):
            writer.submit(record)
        p.refuse = True
        assert await p.cut() == 1
        for record in records(200, 300):
            writer.submit(record)
        await writer.flush()  # durable: in the database or in the journal
        stats = writer.stats
        assert not stats.db_up and stats.db_errors >= 1
        assert stats.journal_records > 0 and stats.journal_bytes > 0
        assert await count_records(pool) + stats.journal_records >= 500
        p.refuse = False  # back: the writer reconnects and replays the journal
        await asyncio.wait_for(writer.wait_up(), 10)
        for record in records(500, 10):
            writer.submit(record)
        await writer.flush()
        assert writer.stats.journal_records == 0
    ids = await stored_ids(pool)
    assert len(ids) == len(set(ids)) == 510
    assert set(ids) == {r.call_id for r in records(0, 510)}
    assert not list((tmp_path / "journal").glob("cdr-*.jsonl"))


async def test_commit_lost_in_flight_is_not_doubled(
    proxy: tuple[TcpProxy, str], pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The connection drops inside a batch's transaction (here: from a companion): the
    batch is rolled back, journaled, replayed once the database is back; companions and
    records stay one per call."""
    p, url = proxy
    await pool.execute("CREATE TABLE companion_log (call_id text)")
    cut_once = asyncio.Event()

    async def companion(conn: asyncpg.Connection, batch: list[CallRecord]) -> None:
        await conn.executemany(
            "INSERT INTO companion_log VALUES ($1)", [(r.call_id,) for r in batch]
        )
        if not cut_once.is_set():
            cut_once.set()
            p.refuse = True
            await p.cut()

    writer = CdrWriter(url, tmp_path / "journal", retry_initial=0.05, retry_max=0.2)
    writer.add_companion(companion)
    async with started(writer):
        for record in records(0, 40):
            writer.submit(record)
        await writer.flush()
        assert cut_once.is_set() and not writer.db_up
        p.refuse = False
        await asyncio.wait_for(writer.wait_up(), 10)
    assert sorted(await stored_ids(pool)) == sorted(r.call_id for r in records(0, 40))
    assert await pool.fetchval("SELECT count(DISTINCT call_id) = count(*) FROM companion_log")
    assert await pool.fetchval("SELECT count(*) FROM companion_log") == 40


async def test_a_new_writer_replays_what_an_old_one_left(
    proxy: tuple[TcpProxy, str], db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    p, url = proxy
    journal = tmp_path / "journal"
    p.refuse = True  # the first engine never reaches the database
    old = CdrWriter(url, journal, retry_initial=5)
    async with started(old):
        assert not old.db_up
        for record in records(0, 30):
            old.submit(record)
    assert Journal(journal).segments(), "close() left the records in the journal"
    # A record already stored and also in the journal (its commit was acknowledged too late).
    await pool.execute(
        "INSERT INTO call_records (call_id, uniqueid, linkedid, number, "
        "start_time, end_time, disposition, asterisk_disposition) "
        "SELECT $1, $1, $1, '05051234567', $2, $2, 'ANSWERED', 'ANSWERED'",
        make_record(0).call_id,
        T0,
    )
    seen: list[str] = []

    async def companion(conn: asyncpg.Connection, batch: list[CallRecord]) -> None:
        seen.extend(r.call_id for r in batch)

    new = CdrWriter(db_url, journal)
    new.add_companion(companion)
    async with started(new):
        assert new.db_up and new.stats.journal_records == 0
    assert sorted(await stored_ids(pool)) == sorted(r.call_id for r in records(0, 30))
    assert sorted(seen) == sorted(r.call_id for r in records(1, 29))
    assert not Journal(journal).segments()


async def test_close_flushes_what_is_queued(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    writer = CdrWriter(db_url, tmp_path / "journal", batch_size=100_000, flush_interval=60)
    await writer.start()
    for record in records(0, 500):
        writer.submit(record)
    await writer.close()
    assert await count_records(pool) == 500


async def test_a_full_queue_spills_to_the_journal_and_nothing_is_lost(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    writer = CdrWriter(db_url, tmp_path / "journal", queue_size=10)
    committed: set[str] = set()
    everything = asyncio.Event()

    def listener(batch: list[CallRecord]) -> None:
        committed.update(r.call_id for r in batch)
        if len(committed) == 100:
            everything.set()

    writer.add_listener(listener)
    async with started(writer):
        for record in records(0, 100):  # no await in between: the queue overflows
            writer.submit(record)
        assert writer.stats.queue_depth == 100
        await writer.flush()
        assert writer.stats.records_journaled == 90
        await asyncio.wait_for(everything.wait(), 10)
    assert sorted(await stored_ids(pool)) == sorted(r.call_id for r in records(0, 100))


def test_journal_skips_a_torn_last_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    journal.append([make_record(1).to_json(), make_record(2).to_json()])
    (segment,) = journal.seal()
    with open(segment, "ab") as fh:
        fh.write(b'{"call_id": "torn')
    items, damaged = Journal(tmp_path).read(segment)
    assert [i["call_id"] for i in items] == [make_record(1).call_id, make_record(2).call_id]
    assert damaged == 1


async def test_closed_and_missing_values_round_trip(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    closed = make_record(
        1,
        disposition=Disposition.CLOSED,
        closed_state=ClosedState.LUNCH,
        asterisk_disposition="NO ANSWER",
        ring_time=None,
        answer_time=None,
        connect_time=None,
        billsec=0,
        attempts=(),
        answered_target=None,
        tenant_id=None,
        config_version=None,
        caller="",
    )
    async with started(CdrWriter(db_url, tmp_path / "journal")) as writer:
        writer.submit(closed)
        await writer.flush()
    row = await fetch_record(pool, closed.call_id)
    assert row is not None
    assert (row["disposition"], row["closed_state"], row["attempts"]) == ("CLOSED", "lunch", [])
    assert (row["answer_time"], row["tenant_id"], row["caller"]) == (None, None, "")


def test_journal_health_follows_its_last_write(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory)
    journal.open()
    assert journal.healthy
    journal.append([make_record(1).to_json()])
    journal.seal()
    for segment in journal.segments():
        journal.remove(segment)
    directory.rmdir()
    directory.write_text("not a directory")  # the journal's folder is gone
    with pytest.raises(OSError):
        journal.append([make_record(2).to_json()])
    assert not journal.healthy
    directory.unlink()
    directory.mkdir()
    journal.append([make_record(3).to_json()])
    assert journal.healthy and journal.records == 1
    journal.close()


async def test_database_and_journal_both_failing_keeps_records_in_memory(
    proxy: tuple[TcpProxy, str], pool: asyncpg.Pool, tmp_path: Path
) -> None:
    p, url = proxy
    directory = tmp_path / "journal"
    writer = CdrWriter(
        url, directory, queue_size=123, flush_interval=0.01, retry_initial=0.05, retry_max=0.1
    )
    assert writer.stats.queue_capacity == 123 and writer.stats.journal_healthy
    failed = asyncio.Event()
    append = writer.journal.append

    async def watched(items: list[dict[str, object]]) -> int:
        try:
            return await append(items)
        except OSError:
            failed.set()
            raise

    writer.journal.append = watched  # type: ignore[method-assign]
    async with started(writer):
        p.refuse = True
        await p.cut()
        directory.rmdir()
        directory.write_text("not a directory")
        for record in records(0, 5):
            writer.submit(record)
        await asyncio.wait_for(failed.wait(), 5)
        assert not writer.stats.journal_healthy
        assert writer.stats.queue_depth == 5 and not writer.stats.db_up
        flushed = asyncio.ensure_future(writer.flush())
        await asyncio.sleep(0)
        assert not flushed.done()  # nothing is durable yet
        p.refuse = False  # the database returns first: the held records go there
        await asyncio.wait_for(flushed, 10)
        assert writer.stats.queue_depth == 0
    assert sorted(await stored_ids(pool)) == sorted(r.call_id for r in records(0, 5))
