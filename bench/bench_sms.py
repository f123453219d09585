"""Callback texts per second through the outbox: claim (FOR UPDATE SKIP LOCKED), send,
record the outcome, for a queue of texts that are all due.

Gateways: an instant in-process provider (the outbox alone), the loopback HTTP gateway
answering at once, and the same gateway taking 100 ms per text (concurrency matters).
Aims: 2,000 texts/s with an instant gateway, 500/s with a 100 ms one.

Uses DATABASE_URL's server (the role needs CREATEDB) or an embedded one; works in a
database of its own, dropped at the end.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bench.bench_planner import bench_database
from ivr_engine.sms.config import DEFAULT_FIELDS, parse_fields
from ivr_engine.sms.providers import Outcome, OutgoingText, Provider, SendResult
from ivr_engine.sms.providers.http_gateway import HttpGatewayProvider
from ivr_engine.sms.stats import SmsCounters
from ivr_engine.sms.worker import SmsWorker, WorkerOptions
from ivr_engine.store.pool import create_pool_for_url
from tests.support.fake_gateway import FakeGateway

TEXTS = 10_000
FILL = """
INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, trigger, state, kind,
                        body, send_after, send_day)
SELECT $2 || i, 'bench', '05051234567', '010' || lpad((20000000 + i)::text, 8, '0'),
       'no_answer', 'queued', 'sms', '강남피자입니다. 부재중 전화 주셔서 감사합니다.',
       now() - interval '1 second', current_date
FROM generate_series(1, $1) AS i
"""


class InstantProvider:
    """Accepts every text at once, in process (no HTTP): the outbox's own ceiling."""

    name = "instant"

    async def send(self, text: OutgoingText) -> SendResult:
        """Accept."""
        return SendResult(Outcome.SENT, message_id=str(text.id))

    async def close(self) -> None:
        """Nothing to close."""


async def measure(
    pool: asyncpg.Pool,
    provider: Provider,
    options: WorkerOptions,
    label: str,
    prefix: str,
    texts: int = TEXTS,
) -> float:
    """Queue ``texts``, send them all with one worker, return texts per second."""
    await pool.execute(FILL, texts, prefix)
    done = asyncio.Event()
    sent = 0

    def recorded(batch: list[tuple[int, str]]) -> None:
        nonlocal sent
        sent += sum(1 for _, state in batch if state == "sent")
        if sent >= texts:
            done.set()

    worker = SmsWorker(pool, provider, options=options, counters=SmsCounters())
    worker.on_recorded.append(recorded)
    started = time.perf_counter()
    await worker.start()
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    await worker.stop()
    await provider.close()
    rate = texts / elapsed
    print(
        f"{label:<44} {texts:>6,} texts in {elapsed:5.2f} s  {rate:8,.0f} texts/s  "
        f"(lanes {options.lanes} x batch {options.batch_size})"
    )
    return rate


async def run() -> None:
    """Each gateway in turn on a fresh queue."""
    async with bench_database() as url:
        pool = await create_pool_for_url(url, min_size=4, max_size=12)
        gateway = FakeGateway()
        await gateway.start()
        try:
            fast = WorkerOptions(lanes=4, batch_size=200, poll=0.5)
            await measure(pool, InstantProvider(), fast, "instant gateway (in process)", "a")
            http = HttpGatewayProvider(gateway.url, fields=parse_fields(DEFAULT_FIELDS))
            await measure(pool, http, fast, "HTTP gateway on loopback, instant", "b")
            gateway.delay = 0.1
            slow = WorkerOptions(lanes=8, batch_size=100, poll=0.5)
            http = HttpGatewayProvider(gateway.url, fields=parse_fields(DEFAULT_FIELDS), limit=800)
            await measure(
                pool, http, slow, "HTTP gateway on loopback, 100 ms per text", "c", texts=5_000
            )
        finally:
            await gateway.stop()
            await pool.close()


def main() -> None:
    """Entry point for ``python -m bench sms``."""
    asyncio.run(run())
