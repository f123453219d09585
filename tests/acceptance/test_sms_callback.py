"""Callback texts end to end: a missed call through the simulator, its call record and its
text written together, and the text delivered once, with the right content, after the
policy's delay, through a real HTTP gateway on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.domain.sms_policy import parse_policy
from ivr_engine.domain.sms_text import byte_length
from ivr_engine.sim import Behaviour
from ivr_engine.sms import admin
from ivr_engine.sms.config import DEFAULT_FIELDS, parse_fields
from ivr_engine.sms.outbox import SmsOutbox
from ivr_engine.sms.providers.http_gateway import HttpGatewayProvider
from ivr_engine.sms.stats import SmsCounters
from ivr_engine.sms.worker import SmsWorker, WorkerOptions
from tests.support.fake_gateway import FakeGateway

from .conftest import EngineFactory

OPEN = datetime(2026, 11, 20, 12, 0)  # a Friday, open hours of 0505-123-4567
GANGNAM, FIRST = "05051234567", "01011112222"
CALLER = "01020003000"
POLICY = {
    "templates": {
        "missed": "{business}입니다. {time}에 주신 전화를 놓쳤습니다. 곧 연락드리겠습니다."
    },
    "triggers": ["missed"],
    "delay": 60,
    "window": "09:00-20:00",
}


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    gw = FakeGateway()
    await gw.start()
    yield gw
    await gw.stop()


async def test_a_missed_call_gets_exactly_one_text(
    call_engine: EngineFactory, gateway: FakeGateway
) -> None:
    h = await call_engine(OPEN)
    engine = h.engine
    await admin.set_policy(engine.db.pool, parse_policy(POLICY), number=GANGNAM)
    engine.cache.clear()
    engine.cdr.add_companion(
        SmsOutbox(engine.cache, clock=engine.env.clock, counters=SmsCounters())
    )
    provider = HttpGatewayProvider(gateway.url, fields=parse_fields(DEFAULT_FIELDS))
    worker = SmsWorker(
        engine.db.pool,
        provider,
        listen_url=engine.db.url,
        options=WorkerOptions(lanes=1, poll=0.1),
        clock=engine.env.clock,
        counters=SmsCounters(),
    )
    recorded = asyncio.Event()
    worker.on_recorded.append(lambda done: recorded.set())
    await worker.start()
    try:
        h.sim.set_behaviour(FIRST, Behaviour.no_answer())
        call = await h.call(GANGNAM, CALLER, hangup_after=3.0)
        trace = await h.finished(call)
        assert trace.hangup_by == "caller"  # a missed call: the caller gave up while ringing
        await gateway.wait_deliveries(1, timeout=20)
        await asyncio.wait_for(recorded.wait(), 10)
    finally:
        await worker.stop()
        await provider.close()

    record = await engine.db.pool.fetchrow(
        "SELECT disposition, end_time FROM call_records WHERE call_id = $1", call.channel_id
    )
    assert record["disposition"] == "ABANDONED"
    (row,) = await engine.db.pool.fetch("SELECT * FROM sms_outbox")
    assert row["state"] == "sent" and row["call_id"] == call.channel_id
    assert row["send_after"] == record["end_time"] + timedelta(seconds=60)
    assert row["sent_at"] >= row["send_after"]  # not before the delay, by the engine's clock
    assert row["sent_at"] - row["send_after"] < timedelta(seconds=30)

    (key,) = gateway.state.deliveries
    assert key == f"cb:{call.channel_id}" and gateway.state.requests[key] == 1
    body = gateway.state.payloads[key]
    local = trace.started.astimezone(ZoneInfo("Asia/Seoul")).strftime("%m/%d %H:%M")
    assert local.startswith("11/20 12:0")
    assert body["text"] == f"강남피자입니다. {local}에 주신 전화를 놓쳤습니다. 곧 연락드리겠습니다."
    assert byte_length(body["text"]) == 74  # fits one SMS (90 bytes)
    assert body["to"] == CALLER and body["from"] == GANGNAM and body["type"] == "sms"
    assert "subject" not in body
