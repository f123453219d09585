"""The CDR writer: call records into PostgreSQL in batches, through a journal when it is away.

``submit(record)`` never blocks and never raises: the record joins a bounded queue (or, when
the queue is full, goes straight to the on-disk journal). One flusher task takes batches of
up to ``batch_size`` records, or whatever arrived within ``flush_interval`` seconds of the
first, and writes each in one transaction: COPY into a staging table, then
``INSERT ... SELECT ... ON CONFLICT (call_id) DO NOTHING``, then the companions (e.g. the
SMS outbox) with the records inserted now. A record is therefore stored exactly once, even
when a batch is retried after a lost commit acknowledgement or replayed from the journal.

When PostgreSQL cannot be reached, batches are appended to the journal (fsync'd) and a
retry with capped exponential backoff reconnects and replays it; a segment is removed only
after its records are committed. When the journal cannot be written either (a full disk, a
missing directory), the records stay in memory (``journal_healthy`` is False), are offered to
the journal again with the next ones, and go straight to the database when it returns.
``start()`` replays what a previous run left, ``close()`` writes out everything (to the
database or the journal).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from ivr_engine.domain.numbers import mask
from ivr_engine.domain.records import CallRecord, build_record
from ivr_engine.domain.trace import CallTrace
from ivr_engine.settings import Settings
from ivr_engine.store.cdr_queries import STAGING_COLUMNS, is_transient, record_row
from ivr_engine.store.journal import AsyncJournal, Journal
from ivr_engine.store.pool import init_connection
from ivr_engine.store.queries import queries

if TYPE_CHECKING:
    from ivr_engine.app import Database

log = logging.getLogger(__name__)

Companion = Callable[[asyncpg.Connection, Sequence[CallRecord]], Awaitable[None]]
Listener = Callable[[Sequence[CallRecord]], None]
_WAKE = object()


@dataclass
class WriterStats:
    """What the writer exposes for metrics and health checks."""

    queue_depth: int = 0
    queue_capacity: int = 0  # records the queue holds before they go to the journal
    journal_records: int = 0
    journal_bytes: int = 0
    journal_healthy: bool = True  # the journal's last write succeeded
    db_up: bool = True
    last_flush_seconds: float | None = None  # the last batch's transaction, COPY to commit
    batches: int = 0
    records_written: int = 0  # inserted into call_records
    records_duplicate: int = 0  # already stored (a retry or a replay): ignored
    records_journaled: int = 0
    records_rejected: int = 0  # refused by the database as invalid; kept in rejected.jsonl
    db_errors: int = 0


class CdrWriter:
    """Batched, journaled, idempotent writer of call records (see the module docstring)."""

    def __init__(
        self,
        url: str,
        journal_dir: str | Path,
        *,
        batch_size: int = 2000,
        flush_interval: float = 0.05,
        queue_size: int = 50_000,
        timeout: float = 10.0,
        retry_initial: float = 0.2,
        retry_max: float = 15.0,
    ) -> None:
        self.url = url
        self.journal = AsyncJournal(Journal(journal_dir))
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.timeout = timeout
        self.retry_initial, self.retry_max = retry_initial, retry_max
        self._queue: asyncio.Queue[object] = asyncio.Queue(queue_size)
        self._spill: list[CallRecord] = []
        self._unjournaled: list[CallRecord] = []  # the journal failed: held in memory
        self._rows: dict[str, tuple[object, ...]] = {}  # rows encoded at submit, by call id
        self._spill_wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._companions: list[Companion] = []
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._down = False
        self._up = asyncio.Event()
        self._backoff = retry_initial
        self._retry_at = 0.0
        self._closing = self._closed = False
        self._submitted = self._done = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._stats = WriterStats()

    # -- API ------------------------------------------------------------------------------
    def add_companion(self, fn: Companion) -> None:
        """Run ``await fn(conn, records)`` inside each batch's transaction, with the records
        inserted by that batch (never with one already stored): both commit or neither."""
        self._companions.append(fn)

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(records)`` after each commit with the batch's records (for metrics)."""
        self._listeners.append(fn)

    def submit(self, record: CallRecord) -> None:
        """Queue a record for writing; never blocks. A full queue sends it to the journal."""
        if self._closed:
            log.warning("call record %s submitted after close: journaled", record.call_id)
            try:
                self.journal.journal.append([record.to_json()])
                self.journal.journal.seal()
            except OSError as exc:
                log.error("call record %s lost: the journal failed (%s)", record.call_id, exc)
            return
        self._submitted += 1
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self._spill.append(record)
            self._spill_wake.set()
            return
        # Encoded now, while the flusher waits on the database: encoding and the server's
        # work overlap instead of taking turns.
        self._rows.setdefault(record.call_id, record_row(record))

    def on_call_end(self, trace: CallTrace) -> None:
        """``CallEnv.on_end`` adapter: build the call's record and submit it."""
        try:
            record = build_record(trace)
        except Exception:
            log.exception(
                "no call record could be built for call %s to %s",
                trace.channel_id,
                mask(trace.number),
            )
            return
        self.submit(record)

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the writer's figures."""
        return dataclasses.replace(
            self._stats,
            queue_depth=self._queue.qsize() + len(self._spill) + len(self._unjournaled),
            queue_capacity=self._queue.maxsize,
            journal_records=self.journal.records,
            journal_bytes=self.journal.size_bytes,
            journal_healthy=self.journal.healthy,
            db_up=not self._down,
        )

    @property
    def db_up(self) -> bool:
        """True while batches go to the database (False: to the journal)."""
        return not self._down

    async def start(self) -> None:
        """Open the journal, connect and replay what a previous run left, start flushing.
        An unreachable database is not an error: records are journaled until it returns."""
        await self.journal.open()
        await self._recover()
        self._tasks = [
            asyncio.create_task(self._run(), name="cdr-flusher"),
            asyncio.create_task(self._run_spill(), name="cdr-spill"),
        ]

    async def flush(self) -> None:
        """Wait until every record submitted so far is durable (stored or journaled)."""
        target = self._submitted
        if self._done >= target:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        await fut

    async def wait_up(self) -> None:
        """Wait until the database is reachable and the journal has been replayed."""
        await self._up.wait()

    async def close(self) -> None:
        """Write out every queued record (database, else journal), then disconnect."""
        if self._closed:
            return
        self._closing = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_WAKE)
        self._spill_wake.set()
        await asyncio.gather(*self._tasks)
        self._closed = True
        left = [r for r in self._drain_queue() if isinstance(r, CallRecord)] + self._spill
        self._spill = []
        if left or self._unjournaled:
            self._finished(await self._journal_append(left))
        if self._unjournaled:
            log.error(
                "%d call record(s) lost: neither the database nor the journal took them",
                len(self._unjournaled),
            )
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        await self._disconnect()
        await self.journal.close()

    def _drain_queue(self) -> list[object]:
        items = []
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    # -- flusher ---------------------------------------------------------------------------
    async def _run(self) -> None:
        """Collect batches and store them until closed; retry the database when it is away."""
        while True:
            batch = await self._collect()
            if batch:
                self._finished(await self._handle(batch))
            elif self._closing and self._queue.empty():
                return
            if self._down and not self._closing and time.monotonic() >= self._retry_at:
                await self._recover()
            elif not self._down and not self._closing and self._held_back():
                await self._recover()  # records spilled from a full queue

    def _held_back(self) -> bool:
        """Records waiting outside the queue: in the journal, or in memory."""
        return bool(self.journal.records or self._unjournaled)

    async def _collect(self) -> list[CallRecord]:
        """The next batch: up to batch_size records, or what came within flush_interval."""
        q = self._queue
        batch: list[CallRecord] = []
        if q.empty() and not self._closing:
            wait = max(0.0, self._retry_at - time.monotonic()) if self._down else None
            try:
                first = await asyncio.wait_for(q.get(), wait)
            except TimeoutError:
                return batch
            if first is not _WAKE:
                batch.append(first)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_interval
        while len(batch) < self.batch_size:
            if not q.empty():
                item = q.get_nowait()
            elif self._closing:
                break
            else:
                try:
                    item = await asyncio.wait_for(q.get(), deadline - loop.time())
                except TimeoutError:
                    break
            if item is not _WAKE:
                batch.append(item)  # type: ignore[arg-type]
        return batch

    async def _handle(self, batch: list[CallRecord]) -> int:
        """Store a batch in the database; journal it when the database is unreachable.
        Returns how many records became durable (see ``_journal_append``)."""
        if not self._down:
            try:
                await self._store(batch, reconnect=True)
                return len(batch)
            except Exception as exc:
                self._mark_down(exc)
        return await self._journal_append(batch)

    async def _store(self, batch: Sequence[CallRecord], *, reconnect: bool = False) -> None:
        """Write a batch; on a data error, record by record (rejecting the bad ones). Raises
        only transient (connection) errors. ``reconnect``: retry once on a fresh connection
        when a connection that was open before fails (it may have been dropped while idle)."""
        fresh = self._conn is None
        try:
            await self._write(batch)
        except Exception as exc:
            if is_transient(exc):
                self._stats.db_errors += 1
                await self._disconnect()
                if reconnect and not fresh:
                    await self._store(batch)
                    return
                raise
            log.error(
                "a batch of %d call records was refused (%s); writing one by one", len(batch), exc
            )
            for record in batch:
                await self._store_one(record)

    async def _store_one(self, record: CallRecord) -> None:
        """Write one record; keep it in the journal's rejected file when refused."""
        try:
            await self._write([record])
        except Exception as exc:
            if is_transient(exc):
                await self._disconnect()
                raise
            log.error("call record %s refused by the database: %s", record.call_id, exc)
            self._stats.records_rejected += 1
            await self.journal.reject([record.to_json()])

    async def _write(self, batch: Sequence[CallRecord]) -> None:
        """One transaction: COPY to staging, insert the new ones, companions, commit."""
        unique = list({r.call_id: r for r in reversed(batch)}.values())
        conn = await self._connection()
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "cdr_staging",
                columns=STAGING_COLUMNS,
                records=[self._row(r) for r in unique],
                timeout=self.timeout,
            )
            if self._companions:
                rows = await conn.fetch(
                    queries()["insert_from_staging_returning"], timeout=self.timeout
                )
                keys = {r["call_id"] for r in rows}
                inserted = [r for r in unique if r.call_id in keys]
                if inserted:
                    for companion in self._companions:
                        await companion(conn, inserted)
                count = len(inserted)
            else:
                status = await conn.execute(queries()["insert_from_staging"], timeout=self.timeout)
                count = int(status.split()[-1])
        self._stats.last_flush_seconds = time.perf_counter() - started
        self._stats.batches += 1
        self._stats.records_written += count
        self._stats.records_duplicate += len(batch) - count
        for listener in self._listeners:
            try:
                listener(batch)
            except Exception:
                log.exception("call record listener failed")

    # -- connection, journal, recovery -------------------------------------------------------
    async def _connection(self) -> asyncpg.Connection:
        """The writer's own connection (with its staging table and, for the companions
        that read configuration through it, the jsonb codec), opened when needed."""
        if self._conn is None or self._conn.is_closed():
            conn = await asyncpg.connect(self.url, timeout=self.timeout)
            try:
                await asyncio.wait_for(init_connection(conn), self.timeout)
                await conn.execute(queries()["create_cdr_staging"], timeout=self.timeout)
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
        return self._conn

    async def _disconnect(self) -> None:
        """Drop the connection (a broken one is terminated, never waited on)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 2.0)
            except Exception:
                conn.terminate()

    def _mark_down(self, exc: BaseException) -> None:
        """The database is unreachable: journal from now on, retry after a backoff."""
        if not self._down:
            log.warning(
                "PostgreSQL unreachable for call records (%s: %s); journaling",
                type(exc).__name__,
                exc,
            )
        self._down = True
        self._up.clear()
        delay = min(self._backoff, self.retry_max)
        self._retry_at = time.monotonic() + delay * random.uniform(0.5, 1.0)
        self._backoff = min(self._backoff * 2, self.retry_max)

    async def _recover(self) -> None:
        """Connect, replay the journal, and mark the database up; back off on failure."""
        try:
            await self._connection()
            while segments := await self.journal.seal():
                for path in segments:
                    await self._replay(path)
            await self._store_unjournaled()
        except Exception as exc:
            if not is_transient(exc):
                log.exception("replaying the call record journal failed")
            await self._disconnect()
            self._mark_down(exc)
            return
        if self._down:
            log.info("PostgreSQL reachable again: call records are written directly")
        self._down = False
        self._backoff = self.retry_initial
        self._up.set()

    async def _store_unjournaled(self) -> None:
        """Store the records the journal could not take (kept in memory meanwhile)."""
        held, self._unjournaled = self._unjournaled, []
        try:
            for i in range(0, len(held), self.batch_size):
                await self._store(held[i : i + self.batch_size])
        except BaseException:
            self._unjournaled = held + self._unjournaled
            raise
        self._finished(len(held))

    async def _replay(self, path: Path) -> None:
        """Store one sealed segment's records, then remove it."""
        items = await self.journal.read(path)
        records = []
        for item in items:
            try:
                records.append(CallRecord.from_json(item))
            except (KeyError, ValueError, TypeError):
                log.error("journal %s: a line is not a call record; rejected", path.name)
                await self.journal.reject([item])
        for i in range(0, len(records), self.batch_size):
            await self._store(records[i : i + self.batch_size])
        await self.journal.remove(path)
        if records:
            log.info("replayed %d call record(s) from %s", len(records), path.name)

    def _row(self, record: CallRecord) -> tuple[object, ...]:
        """The record's staging row (encoded at submit when it was queued)."""
        return self._rows.pop(record.call_id, None) or record_row(record)

    async def _journal_append(self, records: Sequence[CallRecord]) -> int:
        """Journal ``records`` with those an earlier failure left in memory; returns how many
        became durable (0 when the journal fails: they are all held in memory)."""
        for record in records:
            self._rows.pop(record.call_id, None)
        pending, self._unjournaled = self._unjournaled + list(records), []
        if not pending:
            return 0
        was_healthy = self.journal.healthy
        try:
            await self.journal.append([r.to_json() for r in pending])
        except OSError as exc:
            if was_healthy:
                log.error(
                    "the call record journal cannot be written (%s); %d record(s) held in memory",
                    exc,
                    len(pending),
                )
            self._unjournaled = pending + self._unjournaled
            return 0
        if not was_healthy:
            log.info("the call record journal is writable again")
        self._stats.records_journaled += len(pending)
        return len(pending)

    async def _run_spill(self) -> None:
        """Journal the records that found the queue full."""
        while True:
            await self._spill_wake.wait()
            self._spill_wake.clear()
            records, self._spill = self._spill, []
            if records:
                self._finished(await self._journal_append(records))
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(_WAKE)  # the flusher replays them
            if self._closing and not self._spill:
                return

    def _finished(self, count: int) -> None:
        """``count`` more records are durable; wake the flush() waiters that are done."""
        self._done += count
        ready = [w for w in self._waiters if w[0] <= self._done]
        self._waiters = [w for w in self._waiters if w[0] > self._done]
        for _, fut in ready:
            if not fut.done():
                fut.set_result(None)


def journal_dir(settings: Settings) -> Path:
    """Where the engine's call record journal lives: ``<data_dir>/journal``."""
    return Path(settings.data_dir).expanduser() / "journal"


@asynccontextmanager
async def open_cdr_writer(db: Database, settings: Settings) -> AsyncIterator[CdrWriter]:
    """A started writer on ``db`` journaling to ``<data_dir>/journal``; closed (flushed)
    on exit."""
    writer = CdrWriter(db.url, journal_dir(settings))
    await writer.start()
    try:
        yield writer
    finally:
        await writer.close()
