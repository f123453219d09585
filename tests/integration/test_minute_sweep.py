"""Reservations a killed ``dial`` left open are released after the talk limit and the
margin (never before, never twice, never one that was settled), on a real Postgres; the
sweep's CLI; members' outbound statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ivr_engine.cli import main
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.minutes import STALE_MARGIN_SECONDS
from ivr_engine.settings import Settings
from ivr_engine.store import minutes
from ivr_engine.store.loader import load_document
from ivr_engine.store.minute_sweep import REASON, purge_expired_sessions, release_stale
from ivr_engine.store.outbound_desk import member_stats

KIM = "01077778888"
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
CONFIG = """
tenants:
  - id: acme
    caller_ids: [{number: "0505-123-4567", verified: true}]
    members: [{name: 김민수, mobile: "010-7777-8888"}]
"""


@pytest.fixture
async def acme(pool: asyncpg.Pool) -> str:
    await load_document(pool, parse_document(load_yaml(CONFIG), "<t>"), source="<t>")
    await minutes.charge(pool, "acme", 6000, "test")
    await minutes.allocate(pool, "acme", KIM, 3000)
    return "acme"


async def test_only_reservations_past_limit_and_margin_are_released(
    pool: asyncpg.Pool, acme: str
) -> None:
    limit = 600
    old = NOW - timedelta(seconds=limit + STALE_MARGIN_SECONDS + 1)
    recent = NOW - timedelta(seconds=limit + STALE_MARGIN_SECONDS - 60)
    assert await minutes.reserve(pool, acme, KIM, "killed", limit, now=old) == limit
    assert await minutes.reserve(pool, acme, KIM, "running", limit, now=recent) == limit
    assert await minutes.reserve(pool, acme, KIM, "settled", limit, now=old) == limit
    await minutes.settle(pool, acme, KIM, "settled", 60, now=old + timedelta(minutes=2))
    assert await minutes.balance(pool, acme, KIM, now=NOW) == 3000 - 2 * limit - 60

    done = await release_stale(pool, NOW)

    assert [(r.call_id, r.seconds) for r in done] == [("killed", limit)]
    assert await minutes.balance(pool, acme, KIM, now=NOW) == 3000 - limit - 60
    rows = await pool.fetch(
        "SELECT kind, seconds, reason FROM minute_ledger WHERE call_id = 'killed' ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("reserve", -limit, "talk limit"),
        ("release", limit, REASON),
    ]
    assert await release_stale(pool, NOW) == []  # never twice
    # The call's record arriving late still charges what it talked, once.
    assert await minutes.settle(pool, acme, KIM, "killed", 120) == 120
    assert await minutes.balance(pool, acme, KIM, now=NOW) == 3000 - limit - 60 - 120
    # The running call's turn comes once its own limit and the margin have passed.
    later = await release_stale(pool, NOW + timedelta(seconds=61))
    assert [r.call_id for r in later] == ["running"]


def test_sweep_cli(
    settings_for_db: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    assert main(["load", str(path)]) == 0
    assert main(["minutes", "charge", "acme", "100", "--reason", "x"]) == 0
    assert main(["minutes", "allocate", "acme", "김민수", "30"]) == 0
    capsys.readouterr()
    assert main(["minutes", "sweep"]) == 0
    assert capsys.readouterr().out.startswith("0 stale reservation(s) released")


async def test_member_statistics_count_outbound_records(pool: asyncpg.Pool, acme: str) -> None:
    insert = (
        "INSERT INTO call_records (call_id, uniqueid, linkedid, tenant_id, number, start_time, "
        "answer_time, end_time, billsec, disposition, asterisk_disposition, direction, member, "
        "charged_seconds) VALUES ($1, $1, $1, 'acme', '01020003000', $2, $3, $2, $4, $5, $6, "
        "'outbound', $7, $8)"
    )
    await pool.execute(insert, "o1", NOW, NOW, 70, "ANSWERED", "ANSWERED", KIM, 120)
    await pool.execute(insert, "o2", NOW, None, 0, "BUSY", "BUSY", KIM, 0)
    await pool.execute(
        insert, "o3", NOW - timedelta(days=40), NOW, 30, "ANSWERED", "ANSWERED", KIM, 60
    )
    (kim,) = await member_stats(pool, acme, NOW - timedelta(days=30))
    assert (kim.name, kim.calls, kim.answered, kim.talk_seconds, kim.charged_seconds) == (
        "김민수",
        2,
        1,
        70,
        120,
    )


async def test_expired_reverse_masking_sessions_are_purged(pool: asyncpg.Pool, acme: str) -> None:
    for customer, hours in (("01020003000", -1), ("01020004000", 5)):
        await pool.execute(
            "INSERT INTO proxy_sessions (tenant_id, customer, member, shown_number, started_at, "
            "expires_at) VALUES ($1, $2, $3, '05051234567', $4, $5)",
            acme,
            customer,
            KIM,
            NOW - timedelta(hours=72),
            NOW + timedelta(hours=hours),
        )
    assert await purge_expired_sessions(pool, NOW) == 1
    left = await pool.fetch("SELECT customer FROM proxy_sessions")
    assert [r["customer"] for r in left] == ["01020004000"]
    assert await purge_expired_sessions(pool, NOW) == 0
