"""Stored call records read back: the Asterisk ``cdr`` view, history filters, statistics per
number and day (or hour) in the tenant's zone, and ``ivr-engine cdr list|stats|export``."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.cli import main
from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.records import CallRecord, ClosedState, Disposition
from ivr_engine.settings import Settings
from ivr_engine.store.cdr_queries import CdrFilter, insert_record, list_records, stats

from .test_cdr_writer import make_record

CDR_COLUMNS = [
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "accountcode",
    "peeraccount",
    "uniqueid",
    "linkedid",
    "userfield",
    "sequence",
    "calldate",
]
GANGNAM, HONGDAE = "05051234567", "05059876543"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def answered(
    i: int,
    start: datetime,
    number: str = GANGNAM,
    talk: int = 60,
    ring: float = 5.0,
    tenant: str = "gangnam-pizza",
) -> CallRecord:
    return make_record(
        i,
        number=number,
        tenant_id=tenant,
        start_time=start,
        ring_time=start + timedelta(seconds=1),
        answer_time=start + timedelta(seconds=1 + ring),
        connect_time=start + timedelta(seconds=1 + ring),
        end_time=start + timedelta(seconds=1 + ring + talk + 0.7),
        ring_seconds=ring,
        billsec=talk,
        duration=int(1 + ring + talk + 0.7),
    )


def missed(
    i: int, start: datetime, disposition: Disposition, number: str = GANGNAM, **kw: object
) -> CallRecord:
    values: dict[str, object] = dict(
        number=number,
        start_time=start,
        ring_time=None,
        answer_time=None,
        connect_time=None,
        end_time=start + timedelta(seconds=8.2),
        ring_seconds=0.0,
        billsec=0,
        duration=8,
        disposition=disposition,
        asterisk_disposition="NO ANSWER",
        answered_target=None,
        attempts=(),
        closed_state=None,
        hangup_by="engine",
    )
    values.update(kw)
    return make_record(i, **values)


@pytest.fixture
async def stored(pool: asyncpg.Pool) -> list[CallRecord]:
    """A few days of calls on two numbers of two tenants in different zones."""
    await pool.execute(
        "INSERT INTO tenants (id, name, timezone) VALUES "
        "('gangnam-pizza', 'g', 'Asia/Seoul'), ('la-bar', 'l', "
        "'America/Los_Angeles')"
    )
    records = [
        answered(1, utc(20, 3), talk=60, ring=4.0),  # 12:00 Seoul, Nov 20
        answered(2, utc(20, 4), talk=30, ring=8.0),  # 13:00 Seoul
        missed(
            3,
            utc(20, 5),
            Disposition.BUSY,
            ring_time=utc(20, 5),
            ring_seconds=0.5,
            asterisk_disposition="BUSY",
            hangup_cause=17,
            attempts=(Attempt("01011112222", TargetResult.BUSY, 17, 0.5),),
        ),
        missed(
            4,
            utc(20, 14, 30),
            Disposition.CLOSED,  # 23:30 Seoul, Nov 20
            closed_state=ClosedState.AFTER_HOURS,
        ),
        missed(
            5,
            utc(20, 15, 30),
            Disposition.ABANDONED,  # 00:30 Seoul: already Nov 21
            asterisk_disposition="NO ANSWER",
            hangup_by="caller",
            caller="01055556666",
        ),
        missed(6, utc(20, 6), Disposition.BLOCKED, asterisk_disposition="FAILED", hangup_cause=21),
        # 02:00 UTC Nov 21 is 18:00 on Nov 20 in Los Angeles
        answered(7, utc(21, 2), number=HONGDAE, talk=100, ring=2.0, tenant="la-bar"),
    ]
    for r in records:
        assert await insert_record(pool, r)
    assert not await insert_record(pool, records[0])  # idempotent
    return records


async def test_cdr_view_has_asterisk_columns_and_values(
    pool: asyncpg.Pool, stored: list[CallRecord]
) -> None:
    cols = await pool.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'cdr' ORDER BY ordinal_position"
    )
    assert [c["column_name"] for c in cols] == CDR_COLUMNS
    rows = {r["uniqueid"]: r for r in await pool.fetch("SELECT * FROM cdr")}
    first = rows[stored[0].call_id]
    assert (first["src"], first["dst"], first["disposition"]) == (
        stored[0].caller_raw,
        GANGNAM,
        "ANSWERED",
    )
    assert (first["duration"], first["billsec"]) == (65, 60)
    assert (first["channel"], first["dstchannel"]) == (stored[0].channel, stored[0].dstchannel)
    assert first["channel"].startswith("PJSIP/carrier-") and first["dstchannel"] != first["channel"]
    assert (first["start"], first["end"]) == (stored[0].start_time, stored[0].end_time)
    assert (first["accountcode"], first["lastapp"], first["userfield"]) == (
        "gangnam-pizza",
        "Stasis",
        "ANSWERED",
    )
    busy = rows[stored[2].call_id]
    assert (busy["disposition"], busy["billsec"], busy["answer"]) == ("BUSY", 0, None)
    closed = rows[stored[3].call_id]
    assert (closed["disposition"], closed["userfield"]) == ("NO ANSWER", "CLOSED:after_hours")
    assert rows[stored[5].call_id]["disposition"] == "FAILED"
    assert len({r["sequence"] for r in rows.values()}) == len(stored)
    values = {r["disposition"] for r in rows.values()}
    assert values <= {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION"}


async def test_history_filters(pool: asyncpg.Pool, stored: list[CallRecord]) -> None:
    everything = await list_records(pool, CdrFilter())
    assert [r["call_id"] for r in everything] == [
        r.call_id for r in sorted(stored, key=lambda r: r.start_time, reverse=True)
    ]
    period = await list_records(pool, CdrFilter(start=utc(20, 4), end=utc(20, 6)))
    assert [r["call_id"] for r in period] == [stored[2].call_id, stored[1].call_id]
    busy = await list_records(pool, CdrFilter(disposition=Disposition.BUSY))
    assert [r["call_id"] for r in busy] == [stored[2].call_id]
    by_caller = await list_records(pool, CdrFilter(caller="01055556666"))
    assert [r["call_id"] for r in by_caller] == [stored[4].call_id]
    assert len(await list_records(pool, CdrFilter(number=HONGDAE))) == 1
    assert len(await list_records(pool, CdrFilter(), limit=2)) == 2


async def test_daily_stats_in_the_tenant_zone(pool: asyncpg.Pool, stored: list[CallRecord]) -> None:
    days = {(s.number, s.period): s for s in await stats(pool, CdrFilter(), by="day")}
    assert set(days) == {
        (GANGNAM, date(2026, 11, 20)),
        (GANGNAM, date(2026, 11, 21)),
        (HONGDAE, date(2026, 11, 20)),
    }
    day = days[(GANGNAM, date(2026, 11, 20))]
    # answered x2, busy, closed offered; the blocked caller is not
    assert (day.offered, day.answered, day.missed, day.closed, day.blocked) == (4, 2, 2, 1, 1)
    assert day.answer_rate == 0.5
    assert day.avg_talk_seconds == 45.0
    assert day.avg_ring_seconds == pytest.approx((4.0 + 8.0 + 0.5) / 3)
    late = days[(GANGNAM, date(2026, 11, 21))]
    assert (late.offered, late.answered, late.missed) == (1, 0, 1)
    assert days[(HONGDAE, date(2026, 11, 20))].answered == 1  # Los Angeles' day


async def test_hourly_stats(pool: asyncpg.Pool, stored: list[CallRecord]) -> None:
    hours = {
        (s.number, s.period): s for s in await stats(pool, CdrFilter(number=GANGNAM), by="hour")
    }
    assert sorted(h for _, h in hours) == [0, 12, 13, 14, 15, 23]
    assert hours[(GANGNAM, 12)].answered == 1 and hours[(GANGNAM, 14)].offered == 1
    assert hours[(GANGNAM, 15)].offered == 0 and hours[(GANGNAM, 15)].blocked == 1


@pytest.fixture
def cli_env(settings_for_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    monkeypatch.setenv("IVR_DATA_DIR", settings_for_db.data_dir)
    return settings_for_db


async def test_cli_list_masks_callers(
    cli_env: Settings, stored: list[CallRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        await _main(
            "cdr", "list", "--from", "2026-11-20", "--to", "2026-11-20", "--number", "0505-123-4567"
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "0505-123-4567" in out and "5 call(s)" in out
    assert "ABANDONED" not in out  # 00:30 on Nov 21 in Seoul: outside the period
    assert "CLOSED (after_hours)" in out
    assert "010-2000-0001" not in out and "02-333-4444" not in out
    assert "010-20**-00**" in out
    assert await _main("cdr", "list", "--disposition", "busy", "--csv") == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0][:4] == ["start", "number", "caller", "disposition"]
    assert [r[3] for r in rows[1:]] == ["BUSY"]


async def test_cli_stats_and_export(
    cli_env: Settings, stored: list[CallRecord], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _main("cdr", "stats", "--number", "0505-123-4567", "--csv") == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[1] == [
        "0505-123-4567",
        "2026-11-20",
        "4",
        "2",
        "2",
        "50.0%",
        "4.2",
        "45.0",
        "1",
        "1",
    ]
    assert await _main("cdr", "stats", "--by", "hour") == 0
    assert "12:00" in capsys.readouterr().out
    out = tmp_path / "calls.csv"
    assert await _main("cdr", "export", "--csv", str(out)) == 0
    lines = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(lines) == len(stored)
    assert {line["caller"] for line in lines}.isdisjoint({r.caller for r in stored})
    assert (
        await _main("cdr", "export", "--csv", str(out), "--unmasked", "--number", "0505-987-6543")
        == 0
    )
    (line,) = csv.DictReader(out.read_text(encoding="utf-8").splitlines())
    assert line["caller"] == stored[6].caller and line["disposition"] == "ANSWERED"


async def _main(*argv: str) -> int:
    """Run the CLI (it runs its own event loop) off this test's loop."""
    return await asyncio.to_thread(main, list(argv))


async def test_cli_times_are_in_each_tenant_zone_with_the_offset(
    cli_env: Settings, stored: list[CallRecord], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _main("cdr", "list", "--csv") == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    start = {r["call_id"]: r["start"] for r in rows}
    assert start[stored[0].call_id] == "2026-11-20 12:00:00+09:00"  # Seoul
    assert start[stored[6].call_id] == "2026-11-20 18:00:00-08:00"  # Los Angeles
    out = tmp_path / "calls.csv"
    assert await _main("cdr", "export", "--csv", str(out), "--number", "0505-987-6543") == 0
    (line,) = csv.DictReader(out.read_text(encoding="utf-8").splitlines())
    assert line["start_time"] == "2026-11-20T18:00:00-08:00"
