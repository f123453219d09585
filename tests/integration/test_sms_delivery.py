"""Sending through a real HTTP gateway on loopback: retries, permanent failures, timeouts,
two workers at once, a worker killed mid-send, an outage that drains, LISTEN wake-ups."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.domain.config_doc import parse_document
from ivr_engine.sms.config import DEFAULT_FIELDS, parse_fields
from ivr_engine.sms.providers import Outcome, OutgoingText
from ivr_engine.sms.providers.http_gateway import HttpGatewayProvider
from ivr_engine.sms.stats import SmsCounters
from ivr_engine.sms.worker import SmsWorker, WorkerOptions
from ivr_engine.store.loader import load_document
from tests.support.fake_gateway import FakeGateway
from tests.unit.test_sms_text import jpeg

FAST = WorkerOptions(
    lanes=2,
    batch_size=10,
    lease=0.6,
    max_attempts=50,
    retry_base=0.02,
    retry_max=0.1,
    poll=0.2,
    recover_every=0.05,
)

INSERT = """
INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, trigger, state, kind,
                        body, subject, image, send_after, send_day)
SELECT $2 || i, 'pizza', '05051234567', '010' || lpad((20000000 + i)::text, 8, '0'),
       'no_answer', 'queued', $3, '전화 주셔서 감사합니다 ' || i, $4, $5,
       now() - interval '1 second', current_date
FROM generate_series(1, $1) AS i
RETURNING id
"""


async def queue_texts(
    pool: asyncpg.Pool,
    n: int,
    prefix: str = "k",
    kind: str = "sms",
    subject: str | None = None,
    image: str | None = None,
) -> list[int]:
    return [r["id"] for r in await pool.fetch(INSERT, n, prefix, kind, subject, image)]


async def states(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT state, count(*) AS n FROM sms_outbox GROUP BY state")
    return {r["state"]: r["n"] for r in rows}


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    gw = FakeGateway()
    await gw.start()
    yield gw
    await gw.stop()


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_document(
        pool,
        parse_document({"tenants": [{"id": "pizza", "name": "강남피자", "numbers": []}]}),
        source="t",
    )
    return pool


class Workers:
    """Workers and providers started by a test, each stopped at the end."""

    def __init__(self, pool: asyncpg.Pool, url: str, db_url: str) -> None:
        self.pool, self.url, self.db_url = pool, url, db_url
        self.started: list[tuple[SmsWorker, HttpGatewayProvider]] = []
        self.finished: dict[int, str] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Event]] = []

    def provider(self, timeout: float = 2.0) -> HttpGatewayProvider:
        return HttpGatewayProvider(self.url, fields=parse_fields(DEFAULT_FIELDS), timeout=timeout)

    def worker(
        self, options: WorkerOptions = FAST, timeout: float = 2.0, listen: bool = False
    ) -> SmsWorker:
        provider = self.provider(timeout)
        worker = SmsWorker(
            self.pool,
            provider,
            options=options,
            counters=SmsCounters(),
            listen_url=self.db_url if listen else None,
        )
        worker.on_recorded.append(self._recorded)
        self.started.append((worker, provider))
        return worker

    def _recorded(self, done: list[tuple[int, str]]) -> None:
        for text_id, state in done:
            if state != "queued":
                self.finished[text_id] = state
        for cond, event in self._waiters:
            if cond():
                event.set()

    async def until(self, cond: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``cond()`` holds after some batch was recorded."""
        if cond():
            return
        event = asyncio.Event()
        self._waiters.append((cond, event))
        await asyncio.wait_for(event.wait(), timeout)

    async def close(self) -> None:
        for worker, provider in self.started:
            await worker.abort()
            await provider.close()


@pytest.fixture
async def workers(db: asyncpg.Pool, gateway: FakeGateway, db_url: str) -> AsyncIterator[Workers]:
    w = Workers(db, gateway.url, db_url)
    yield w
    await w.close()


async def test_texts_are_sent_with_the_mapped_fields(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    await queue_texts(db, 3)
    assert await workers.worker().drain() == 3
    assert await states(db) == {"sent": 3}
    body = gateway.state.payloads["k1"]
    assert body == {
        "to": "01020000001",
        "from": "05051234567",
        "type": "sms",
        "text": "전화 주셔서 감사합니다 1",
        "key": "k1",
    }
    ids = await db.fetch("SELECT provider_message_id FROM sms_outbox ORDER BY id")
    assert [r[0] for r in ids] == ["gw-k1", "gw-k2", "gw-k3"]


async def test_a_permanent_refusal_is_not_retried(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    gateway.fail_status = 400
    await queue_texts(db, 2)
    await workers.worker().drain()
    row = await db.fetchrow("SELECT state, reason, attempts, last_error FROM sms_outbox LIMIT 1")
    assert (row["state"], row["reason"], row["attempts"]) == ("failed", "refused", 1)
    assert "HTTP 400" in row["last_error"]
    assert gateway.state.requests == {"k1": 1, "k2": 1}


async def test_server_errors_are_retried_until_sent(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    gateway.fail_next = [503, 500, 429]
    (text_id,) = await queue_texts(db, 1)
    worker = workers.worker()
    await worker.start()
    await workers.until(lambda: text_id in workers.finished)
    row = await db.fetchrow("SELECT state, attempts FROM sms_outbox WHERE id = $1", text_id)
    assert (row["state"], row["attempts"]) == ("sent", 4)
    assert gateway.state.requests["k1"] == 4 and gateway.state.deliveries["k1"] == 1


async def test_giving_up_after_max_attempts(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    gateway.fail_status = 502
    (text_id,) = await queue_texts(db, 1)
    options = WorkerOptions(
        lanes=1,
        batch_size=5,
        max_attempts=3,
        retry_base=0.01,
        retry_max=0.02,
        poll=0.05,
        recover_every=1.0,
    )
    await workers.worker(options).start()
    await workers.until(lambda: text_id in workers.finished)
    row = await db.fetchrow("SELECT state, reason, attempts FROM sms_outbox")
    assert (row["state"], row["reason"], row["attempts"]) == ("failed", "gave_up", 3)


async def test_a_timeout_is_retried_and_delivered_once(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    gateway.hang = True
    (text_id,) = await queue_texts(db, 1)
    await workers.worker(timeout=0.2).start()
    await gateway.wait_requests(1)
    gateway.hang = False
    await workers.until(lambda: text_id in workers.finished)
    row = await db.fetchrow("SELECT state, attempts, last_error FROM sms_outbox")
    assert row["state"] == "sent" and row["attempts"] >= 2
    assert gateway.state.deliveries == {"k1": 1}


async def test_an_unreachable_gateway_is_transient(workers: Workers) -> None:
    provider = HttpGatewayProvider(
        "http://127.0.0.1:9/send", fields=parse_fields(DEFAULT_FIELDS), timeout=1.0
    )
    try:
        result = await provider.send(
            OutgoingText(1, "k", "t", "05051234567", "01020003000", "sms", "안녕")
        )
    finally:
        await provider.close()
    assert result.outcome is Outcome.RETRY and "unreachable" in (result.error or "")


async def test_two_workers_never_send_one_text_twice(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    ids = await queue_texts(db, 120)
    gateway.hold = asyncio.Event()
    one = WorkerOptions(lanes=1, batch_size=10, lease=30, poll=0.2, recover_every=30)
    first, second = workers.worker(one), workers.worker(one)
    await first.start()
    await second.start()
    await gateway.wait_requests(20)  # both workers have a batch in flight at once
    assert len(gateway.state.requests) == 20
    gateway.hold.set()
    await workers.until(lambda: len(workers.finished) == len(ids))
    assert set(gateway.state.requests.values()) == {1}
    assert len(gateway.state.deliveries) == 120
    assert first.sent_count > 0 and second.sent_count > 0
    assert first.sent_count + second.sent_count == 120
    assert await states(db) == {"sent": 120}


async def test_killing_a_worker_mid_send_loses_and_doubles_nothing(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    ids = await queue_texts(db, 10)
    gateway.hold = asyncio.Event()
    doomed = workers.worker(WorkerOptions(lanes=1, batch_size=10, lease=0.5, poll=0.2))
    await doomed.start()
    await gateway.wait_requests(10)
    await doomed.abort()  # dies while the gateway holds every request
    assert await states(db) == {"sending": 10}
    gateway.hold.set()
    rescuer = workers.worker()
    await rescuer.start()
    await workers.until(lambda: len(workers.finished) == len(ids))
    assert await states(db) == {"sent": 10}
    assert len(gateway.state.deliveries) == 10 and set(gateway.state.deliveries.values()) == {1}
    assert set(gateway.state.requests.values()) == {2}  # sent again, deduped by key
    errors = await db.fetch("SELECT DISTINCT attempts FROM sms_outbox")
    assert [r["attempts"] for r in errors] == [2]


async def test_an_outage_drains_once_the_gateway_is_back(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    gateway.fail_status = 503
    ids = await queue_texts(db, 40)
    await workers.worker().start()
    await gateway.wait_requests(120)  # every text tried, most of them several times
    assert not gateway.state.deliveries
    assert set(await states(db)) <= {"queued", "sending"}
    gateway.fail_status = None
    await workers.until(lambda: len(workers.finished) == len(ids))
    assert await states(db) == {"sent": 40}
    assert len(gateway.state.deliveries) == 40


async def test_a_notification_wakes_an_idle_worker(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    worker = workers.worker(WorkerOptions(lanes=1, poll=60, recover_every=60), listen=True)
    await worker.start()
    assert worker.listening
    (text_id,) = await queue_texts(db, 1)
    await workers.until(lambda: text_id in workers.finished, timeout=5)
    assert gateway.state.deliveries == {"k1": 1}


async def test_texts_not_yet_due_wait(db: asyncpg.Pool, workers: Workers) -> None:
    await db.execute("""INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient,
        trigger, state, kind, body, send_after, send_day) VALUES ('later', 'pizza',
        '05051234567', '01020003000', 'no_answer', 'queued', 'sms', 'x',
        now() + interval '1 day', current_date + 1)""")
    assert await workers.worker().drain() == 0


async def test_opted_out_before_sending_is_suppressed(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers
) -> None:
    await queue_texts(db, 2)
    await db.execute(
        "INSERT INTO sms_optouts (tenant_id, recipient) VALUES ('pizza', $1)", "01020000001"
    )
    await workers.worker().drain()
    rows = await db.fetch("SELECT state, reason FROM sms_outbox ORDER BY id")
    assert [(r["state"], r["reason"]) for r in rows] == [
        ("suppressed", "opted_out"),
        ("sent", None),
    ]
    assert list(gateway.state.requests) == ["k2"]


async def test_mms_carries_the_jpeg(
    db: asyncpg.Pool, gateway: FakeGateway, workers: Workers, tmp_path: Path
) -> None:
    image = jpeg(b"\x01" * 100)
    (tmp_path / "menu.jpg").write_bytes(image)
    (tmp_path / "fake.jpg").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    await queue_texts(db, 1, "good", "mms", "메뉴", "menu.jpg")
    await queue_texts(db, 1, "bad", "mms", "메뉴", "fake.jpg")
    options = WorkerOptions(lanes=1, batch_size=10, image_dir=str(tmp_path))
    await workers.worker(options).drain()
    body = gateway.state.payloads["good1"]
    assert body["type"] == "mms" and body["subject"] == "메뉴"
    assert base64.b64decode(body["image"]) == image
    bad = await db.fetchrow("SELECT state, reason FROM sms_outbox WHERE idempotency_key='bad1'")
    assert (bad["state"], bad["reason"]) == ("failed", "image_invalid")
    assert "bad1" not in gateway.state.requests
