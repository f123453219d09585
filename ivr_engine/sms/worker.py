"""The outbox worker: claims due texts, sends them through a provider, records the outcome.

Several lanes (asyncio tasks) each claim a batch with ``FOR UPDATE SKIP LOCKED`` (so no
two workers, in this process or another, ever hold the same text), send the batch
concurrently, and record every outcome in one statement. A text is claimed with a lease:
a worker that dies mid-send leaves it ``sending`` until the lease runs out, then any worker
sends it again under the same idempotency key, which the gateway uses to avoid a second
delivery. Transient failures are retried with exponential backoff and jitter, permanent
ones stop at once.

Workers wake on ``NOTIFY ivr_sms`` (a text became due now), else when the next queued text
is due, and at least every ``poll`` seconds. A housekeeping task recovers expired leases
and purges old history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ivr_engine.domain.numbers import mask
from ivr_engine.domain.sms_text import TextError
from ivr_engine.sms.images import read_image_async
from ivr_engine.sms.providers import Outcome, OutgoingText, Provider, SendResult
from ivr_engine.sms.retry import next_state, retry_delay
from ivr_engine.sms.stats import COUNTERS, SmsCounters, utc_now
from ivr_engine.store.pool import connect
from ivr_engine.store.queries import queries

log = logging.getLogger(__name__)

CHANNEL = "ivr_sms"
Result = tuple[str, str | None, str | None, str | None, datetime | None]


def worker_name() -> str:
    """A name unique to this worker (host, process, random suffix)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker paces itself (seconds unless said otherwise)."""

    lanes: int = 2
    batch_size: int = 32
    lease: float = 60.0
    max_attempts: int = 8
    retry_base: float = 5.0
    retry_max: float = 1800.0
    poll: float = 5.0
    recover_every: float = 5.0
    retention_days: int = 122
    purge_every: float = 3600.0
    image_dir: str = "."
    error_pause: float = 1.0  # after a database error, before the lane tries again


class SmsWorker:
    """Sends due texts from the outbox (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        provider: Provider,
        *,
        listen_url: str | None = None,
        options: WorkerOptions | None = None,
        name: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        counters: SmsCounters = COUNTERS,
    ) -> None:
        self.pool = pool
        self.provider = provider
        self.listen_url = listen_url
        self.options = options or WorkerOptions()
        self.name = name or worker_name()
        self.clock = clock
        self.rng = rng or random.Random()
        self.counters = counters
        self._wakes = [asyncio.Event() for _ in range(self.options.lanes)]
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        self._stopping = False
        self.sent_count = 0
        # Called after each batch is recorded with [(text id, new state), ...].
        self.on_recorded: list[Callable[[list[tuple[int, str]]], None]] = []

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen for notifications (when a URL is given) and start the lanes."""
        await self._listen()
        self._tasks = [
            asyncio.create_task(self._lane(w), name=f"sms-lane-{i}")
            for i, w in enumerate(self._wakes)
        ]
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="sms-housekeeping"))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let the sends in flight finish and be recorded, then close."""
        self._stopping = True
        self.wake()
        lanes = self._tasks[:-1]
        if lanes:
            await asyncio.wait(lanes, timeout=grace)
        await self.abort()

    async def abort(self) -> None:
        """Stop at once, as if the process died: texts in flight stay ``sending`` until
        their lease runs out, then another worker sends them again (same key)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    @property
    def listening(self) -> bool:
        """True while the worker has its LISTEN connection (else it only polls)."""
        return self._listener is not None and not self._listener.is_closed()

    def wake(self, *_: Any) -> None:
        """Make every lane look for due texts now."""
        for event in self._wakes:
            event.set()

    async def _listen(self) -> None:
        """(Re)open the LISTEN connection; without one, the worker polls."""
        if not self.listen_url or (self._listener is not None and not self._listener.is_closed()):
            return
        try:
            self._listener = await connect(self.listen_url)
            await self._listener.add_listener(CHANNEL, self.wake)
        except Exception as exc:
            self._listener = None
            log.warning("cannot listen for new texts (%s); polling instead", exc)

    # -- lanes -----------------------------------------------------------------------------
    async def _lane(self, wake: asyncio.Event) -> None:
        """Claim and send batches until stopped; sleep when nothing is due."""
        while not self._stopping:
            wake.clear()
            try:
                if await self.run_once():
                    continue
                delay = await self._idle_delay()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the SMS worker lane failed; trying again")
                delay = self.options.error_pause
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    async def _idle_delay(self) -> float:
        """Seconds until the next queued text is due, at most ``poll``."""
        due = await self.pool.fetchval(queries()["sms_next_due"])
        if due is None:
            return self.options.poll
        return min(self.options.poll, max(0.01, (due - self.clock()).total_seconds()))

    async def run_once(self, limit: int | None = None) -> int:
        """Claim one batch of due texts, send them and record the outcomes; returns how
        many were claimed (0: nothing was due)."""
        now = self.clock()
        rows = await self.pool.fetch(
            queries()["sms_claim"],
            now,
            limit or self.options.batch_size,
            float(self.options.lease),
            self.name,
        )
        if not rows:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(r) for r in rows))
        await self._record(rows, outcomes)
        return len(rows)

    async def drain(self) -> int:
        """Send everything due now, batch after batch; returns how many were claimed."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def _attempt(self, row: asyncpg.Record) -> Result:
        """Send one claimed text; its new state, reason, error, message id, retry time."""
        if row["opted_out"]:
            return "suppressed", "opted_out", None, None, None
        image = None
        if row["kind"] == "mms" and row["image"]:
            try:
                image = await read_image_async(row["image"], self.options.image_dir)
            except TextError as exc:
                return "failed", "image_invalid", str(exc), None, None
        text = OutgoingText(
            id=row["id"],
            idempotency_key=row["idempotency_key"],
            tenant_id=row["tenant_id"],
            sender=row["number"],
            recipient=row["recipient"],
            kind=row["kind"],
            body=row["body"],
            subject=row["subject"],
            image=row["image"],
            image_data=image,
        )
        try:
            result = await self.provider.send(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("provider %s failed on text %s", self.provider.name, text.id)
            result = SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        state, reason = next_state(result.outcome, row["attempts"], self.options.max_attempts)
        retry_at = None
        if state == "queued":
            delay = retry_delay(
                row["attempts"],
                base=self.options.retry_base,
                cap=self.options.retry_max,
                rng=self.rng,
                hint=result.retry_after,
            )
            retry_at = self.clock() + timedelta(seconds=delay)
        elif state == "failed":
            log.warning(
                "text %s to %s failed (%s): %s",
                text.idempotency_key,
                mask(text.recipient),
                reason,
                result.error,
            )
        return state, reason, result.error, result.message_id, retry_at

    async def _record(self, rows: Sequence[asyncpg.Record], outcomes: Sequence[Result]) -> None:
        """Write every outcome of a batch in one statement, then count them."""
        cols = list(zip(*outcomes, strict=True))
        await self.pool.execute(
            queries()["sms_complete"],
            self.name,
            self.clock(),
            [r["id"] for r in rows],
            [r["attempts"] for r in rows],
            *(list(c) for c in cols),
        )
        for state, reason, *_ in outcomes:
            if state == "sent":
                self.counters.sent += 1
                self.sent_count += 1
            elif state == "queued":
                self.counters.retries += 1
            elif state == "failed":
                self.counters.failed[reason or "unknown"] += 1
            elif state == "suppressed":
                self.counters.suppressed[reason or "unknown"] += 1
        done = [(r["id"], o[0]) for r, o in zip(rows, outcomes, strict=True)]
        for listener in self.on_recorded:
            listener(done)

    # -- housekeeping ------------------------------------------------------------------------
    async def recover_leases(self) -> int:
        """Put texts whose lease ran out back in the queue; returns how many."""
        rows = await self.pool.fetch(queries()["sms_recover_leases"], self.clock())
        if rows:
            log.warning("%d text(s) left mid-send by a stopped worker are queued again", len(rows))
            self.wake()
        return len(rows)

    async def _housekeeping(self) -> None:
        """Recover expired leases often, purge old history rarely, keep LISTEN alive."""
        from ivr_engine.sms.admin import purge

        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while True:
            try:
                await self.recover_leases()
                await self._listen()
                if loop.time() >= next_purge:
                    cutoff = self.clock() - timedelta(days=self.options.retention_days)
                    await purge(self.pool, cutoff)
                    next_purge = loop.time() + self.options.purge_every
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SMS housekeeping failed; trying again")
            await asyncio.sleep(self.options.recover_every)
