"""The outbox on a real Postgres: texts written with their call records in one transaction,
caps and duplicates counted across a batch, opt-outs and excluded contacts, and the admin
operations (policy set, approve, discard, resend, purge, stats)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.records import CallRecord, ClosedState, Disposition
from ivr_engine.domain.sms_policy import PolicyError, SmsPolicy, parse_policy
from ivr_engine.domain.sms_text import TextError
from ivr_engine.sms import admin
from ivr_engine.sms.outbox import SmsOutbox
from ivr_engine.sms.stats import SmsCounters, stats
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.cdr_writer import CdrWriter
from ivr_engine.store.config_repo import fetch_number_config
from ivr_engine.store.loader import load_document

SEOUL = ZoneInfo("Asia/Seoul")
NUMBER, OTHER = "05051234567", "05051234568"
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)

POLICY: dict[str, Any] = {
    "templates": {"missed": "{business}입니다. 다시 연락드리겠습니다."},
    "caller_daily_cap": 1,
    "dedupe_days": 1,
    "daily_cap": 3,
}


def document(policy: dict[str, Any] | None = None) -> Any:
    return parse_document(
        {
            "tenants": [
                {
                    "id": "pizza",
                    "name": "강남피자",
                    "callback_sms": policy or POLICY,
                    "block_list": ["010-9999-0000"],
                    "numbers": [{"number": NUMBER}, {"number": OTHER, "callback_sms": False}],
                }
            ]
        }
    )


def record(
    call_id: str,
    caller: str = "01020003000",
    number: str = NUMBER,
    disposition: Disposition = Disposition.NO_ANSWER,
    end: datetime = NOON,
    duration: int = 20,
) -> CallRecord:
    start = end - timedelta(seconds=duration)
    return CallRecord(
        call_id=call_id,
        uniqueid=call_id,
        linkedid=call_id,
        tenant_id="pizza",
        number=number,
        caller=caller,
        caller_raw=caller,
        start_time=start,
        ring_time=start,
        answer_time=None,
        connect_time=None,
        end_time=end,
        ring_seconds=float(duration),
        billsec=0,
        duration=duration,
        disposition=disposition,
        closed_state=ClosedState.AFTER_HOURS if disposition is Disposition.CLOSED else None,
        asterisk_disposition="NO ANSWER",
        attempts=(),
        answered_target=None,
        prompts=(),
        hangup_by="caller",
        hangup_cause=16,
        plan_state="open",
        reasons=(),
        config_version=1,
        node="test",
    )


@pytest.fixture
async def loaded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_document(pool, document(), source="test")
    return pool


async def write(
    pool: asyncpg.Pool,
    records: Sequence[CallRecord],
    *,
    now: datetime = NOON,
    counters: SmsCounters | None = None,
) -> SmsOutbox:
    outbox = SmsOutbox(clock=lambda: now, counters=counters or SmsCounters())
    async with pool.acquire() as conn, conn.transaction():
        await outbox(conn, records)
    return outbox


async def texts(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM sms_outbox ORDER BY id")


async def test_a_missed_call_queues_one_text(loaded: asyncpg.Pool) -> None:
    await write(loaded, [record("c1")])
    (row,) = await texts(loaded)
    assert row["state"] == "queued" and row["kind"] == "sms"
    assert row["body"] == "강남피자입니다. 다시 연락드리겠습니다."
    assert row["idempotency_key"] == "cb:c1" and row["recipient"] == "01020003000"
    assert row["send_after"] == NOON and str(row["send_day"]) == "2026-11-20"
    # Writing the same record again (a retried batch) adds nothing.
    await write(loaded, [record("c1")])
    assert len(await texts(loaded)) == 1


async def test_a_record_written_right_after_a_change_is_decided_from_the_cache(
    loaded: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    """As the engine wires it: the CDR writer runs the outbox with the configuration cache.
    A change drops the only cached entry (the call's own number) just before the call's
    record is flushed, so the cache is empty when the text is decided; it must still be
    asked (it reads through the pool), never the writer's own connection."""
    cache = ConfigCache(loaded, db_url)
    await cache.start()
    writer = CdrWriter(db_url, tmp_path / "journal")
    try:
        await asyncio.wait_for(cache.wait_until_listening(), 10)
        cache.clear()
        assert await cache.get(NUMBER) is not None  # the call's planning read it
        dropped = asyncio.Event()
        cache.add_invalidation_listener(lambda _key: dropped.set())
        changed = {**POLICY, "templates": {"missed": "{business}입니다. 곧 연락드립니다."}}
        await load_document(loaded, document(changed), source="test")
        async with asyncio.timeout(10):
            while NUMBER in cache:  # until the change's notification drops the entry
                dropped.clear()
                await dropped.wait()
        assert len(cache) == 0  # the only entry is gone: the cache is empty (and falsy)
        counters = SmsCounters()
        writer.add_companion(SmsOutbox(cache, clock=lambda: NOON, counters=counters))
        await writer.start()
        misses = cache.misses
        writer.submit(record("c1"))
        await asyncio.wait_for(writer.flush(), 10)
        assert counters.errors == 0
        assert cache.misses == misses + 1  # the empty cache was asked, and read through
        (row,) = await texts(loaded)
        assert row["call_id"] == "c1" and row["body"] == "강남피자입니다. 곧 연락드립니다."
    finally:
        await writer.close()
        await cache.close()


async def test_texts_roll_back_with_their_records(loaded: asyncpg.Pool) -> None:
    outbox = SmsOutbox(clock=lambda: NOON, counters=SmsCounters())
    async with loaded.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await outbox(conn, [record("c1")])
                raise RuntimeError("the call record insert failed after the texts")
    assert await texts(loaded) == []


async def test_a_fault_in_the_decision_costs_no_records(loaded: asyncpg.Pool) -> None:
    counters = SmsCounters()
    async with loaded.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE kept (x int)")
        await conn.execute("ALTER TABLE sms_outbox RENAME TO sms_outbox_gone")
        await SmsOutbox(clock=lambda: NOON, counters=counters)(conn, [record("c1")])
        await conn.execute("INSERT INTO kept VALUES (1)")  # the transaction is still usable
        assert await conn.fetchval("SELECT count(*) FROM kept") == 1
        await conn.execute("ALTER TABLE sms_outbox_gone RENAME TO sms_outbox")
    assert counters.errors == 1


async def test_batch_counts_its_own_texts(loaded: asyncpg.Pool) -> None:
    """Within one batch: the per-caller cap, duplicates, the daily cap, every reason kept."""
    counters = SmsCounters()
    batch = [
        record("a1"),
        record("a2"),  # same caller twice: the second is over its cap
        record("b1", caller="01030004000"),
        record("c1", caller="01040005000"),
        record("d1", caller="01050006000"),  # the number's 4th text: over daily_cap 3
        record("x1", caller="0212345678"),
        record("y1", caller="01099990000"),
        record("z1", caller=""),
        record("o1", number=OTHER),
    ]
    outbox = await write(loaded, batch, counters=counters)
    got = {r["call_id"]: (r["state"], r["reason"]) for r in await texts(loaded)}
    assert got == {
        "a1": ("queued", None),
        "a2": ("suppressed", "duplicate"),
        "b1": ("queued", None),
        "c1": ("queued", None),
        "d1": ("suppressed", "daily_cap"),
        "x1": ("suppressed", "not_mobile"),
        "y1": ("suppressed", "blocked"),
    }
    assert outbox.decisions["drop"] == 2  # anonymous, and the number with texts off
    assert counters.suppressed == {"duplicate": 1, "daily_cap": 1, "not_mobile": 1, "blocked": 1}


async def test_history_in_the_database_counts_across_batches(loaded: asyncpg.Pool) -> None:
    await write(loaded, [record("a1")])
    await write(
        loaded, [record("a2", end=NOON + timedelta(hours=1))], now=NOON + timedelta(hours=1)
    )
    await write(
        loaded,
        [record("a3", end=NOON + timedelta(days=1, minutes=1))],
        now=NOON + timedelta(days=1, minutes=1),
    )
    got = [(r["call_id"], r["state"], r["reason"]) for r in await texts(loaded)]
    assert got == [
        ("a1", "queued", None),
        ("a2", "suppressed", "duplicate"),
        ("a3", "queued", None),
    ]


async def test_optouts_and_excluded_contacts(loaded: asyncpg.Pool) -> None:
    assert await admin.add_optouts(loaded, "pizza", ["010-2000-3000"]) == 1
    assert await admin.add_optouts(loaded, "pizza", ["+82 10 2000 3000"]) == 0
    await admin.add_excluded(loaded, "pizza", [("010-3000-4000", "배달기사")])
    await write(loaded, [record("a1"), record("b1", caller="01030004000")])
    got = {r["call_id"]: r["reason"] for r in await texts(loaded)}
    assert got == {"a1": "opted_out", "b1": "excluded_contact"}
    assert [r["recipient"] for r in await admin.list_optouts(loaded, "pizza")] == ["01020003000"]
    assert await admin.remove_optout(loaded, "pizza", "010-2000-3000")


async def test_policy_set_goes_through_the_settings_layer(
    loaded: asyncpg.Pool, tmp_path: Path
) -> None:
    before = await fetch_number_config(loaded, NUMBER)
    policy = parse_policy({"delay": 120, "approval": "manual"})
    resolved = await admin.set_policy(loaded, policy, number="0505-123-4567")
    assert resolved is not None and resolved.delay == 120 and resolved.templates
    after = await fetch_number_config(loaded, NUMBER)
    assert after is not None and before is not None
    assert after.callback_sms == resolved and after.version > before.version
    own, merged = await admin.show_policy(loaded, number=NUMBER)
    assert own == policy and merged == resolved
    with pytest.raises(PolicyError, match="optout"):
        await admin.set_policy(loaded, SmsPolicy(advertising=True), number=NUMBER)
    png = tmp_path / "menu.jpg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(TextError, match="not a JPEG"):
        await admin.set_policy(
            loaded,
            parse_policy({"templates": {"missed": {"text": "메뉴", "image": "menu.jpg"}}}),
            number=NUMBER,
            image_dir=str(tmp_path),
        )
    assert await admin.set_policy(loaded, None, number=NUMBER) is not None  # tenant's remains
    own, _ = await admin.show_policy(loaded, number=NUMBER)
    assert own is None


async def test_approve_discard_resend(loaded: asyncpg.Pool) -> None:
    await admin.set_policy(
        loaded,
        parse_policy({**POLICY, "approval": "manual", "window": "09:00-20:00"}),
        tenant="pizza",
    )
    await write(loaded, [record("a1"), record("b1", caller="01030004000")])
    rows = await texts(loaded)
    assert [r["state"] for r in rows] == ["held", "held"]
    late = datetime(2026, 11, 20, 21, 0, tzinfo=SEOUL)  # approved after the window closed
    assert await admin.approve(loaded, [rows[0]["id"]], clock=lambda: late) == [rows[0]["id"]]
    assert await admin.discard(loaded, [rows[1]["id"]], "wrong number") == [rows[1]["id"]]
    first, second = await texts(loaded)
    assert first["state"] == "queued"
    assert first["send_after"] == datetime(2026, 11, 21, 9, 0, tzinfo=SEOUL)
    assert (second["state"], second["reason"]) == ("discarded", "wrong number")
    assert await admin.approve(loaded, [second["id"]]) == []  # only held texts
    new_id = await admin.resend(loaded, second["id"], clock=lambda: late)
    resent = await loaded.fetchrow("SELECT * FROM sms_outbox WHERE id = $1", new_id)
    assert resent["state"] == "queued" and resent["idempotency_key"] == "cb:b1#r1"
    assert resent["body"] == second["body"]
    with pytest.raises(Exception, match="only sent, failed or discarded"):
        await admin.resend(loaded, first["id"])


async def test_purge_keeps_recent_and_waiting_texts(loaded: asyncpg.Pool) -> None:
    await write(loaded, [record("a1"), record("a2"), record("x1", caller="0212345678")])
    await loaded.execute("UPDATE sms_outbox SET updated_at = now() - interval '200 days'")
    cutoff = datetime.now(UTC) - timedelta(days=122)
    assert await admin.purge(loaded, cutoff, batch=1) == 2  # the two suppressed ones
    assert [r["state"] for r in await texts(loaded)] == ["queued"]


async def test_stats(loaded: asyncpg.Pool) -> None:
    counters = SmsCounters()
    await write(
        loaded,
        [
            record("a1"),
            record("a2"),
            record("b1", caller="01030004000", end=NOON + timedelta(hours=1)),
        ],
        counters=counters,
    )
    snap = await stats(loaded, clock=lambda: NOON + timedelta(seconds=30), counters=counters)
    assert snap["depth"] == {"held": 0, "queued": 2, "sending": 0}
    assert snap["suppressed"] == {"duplicate": 1}
    assert snap["oldest_queued_age_seconds"] == 30.0  # b1 is not due yet: not counted
