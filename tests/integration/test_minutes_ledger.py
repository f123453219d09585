"""The minute ledger on a real Postgres: balances are sums of append-only rows; charges,
allocations, reservations under the member's row lock (two calls racing for the last
minutes), settlement in the call record's transaction, the monthly reset, and the CLI."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr_engine.cli import main
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.members import Rounding
from ivr_engine.domain.minutes import round_up
from ivr_engine.errors import ConflictError
from ivr_engine.settings import Settings
from ivr_engine.store import minutes
from ivr_engine.store.loader import load_document

KIM = "01077778888"


def yaml_for(
    tenant: str,
    rounding: str = "per_minute",
    reset: str = "carry_over",
    mobile: str = KIM,
    caller_id: str = "0505-123-4567",
) -> str:
    return f"""
tenants:
  - id: {tenant}
    caller_ids: [{{number: "{caller_id}", verified: true}}]
    members: [{{name: 김민수, mobile: "{mobile}"}}]
    outbound: {{rounding: {rounding}, reset: {reset}}}
"""


async def load(pool: asyncpg.Pool, text: str) -> None:
    await load_document(pool, parse_document(load_yaml(text), "<t>"), source="<t>")


@pytest.fixture
async def acme(pool: asyncpg.Pool) -> str:
    await load(pool, yaml_for("acme"))
    return "acme"


async def test_charge_allocate_reserve_settle(pool: asyncpg.Pool, acme: str) -> None:
    await minutes.charge(pool, acme, 600, "첫 충전")
    done = await minutes.allocate(pool, acme, KIM, 300)
    assert (done.pool_seconds, done.member_seconds) == (300, 300)
    with pytest.raises(ConflictError, match="the pool has 5 min"):
        await minutes.allocate(pool, acme, KIM, 360)
    assert await minutes.reserve(pool, acme, KIM, "call-1", 3600) == 300
    assert await minutes.balance(pool, acme, KIM) == 0
    assert await minutes.settle(pool, acme, KIM, "call-1", 120) == 120
    assert await minutes.settle(pool, acme, KIM, "call-1", 120) == 120  # replay: no change
    assert await minutes.balance(pool, acme, KIM) == 180
    kinds = [(e.kind.value, e.seconds) for e in await minutes.ledger(pool, acme, KIM)]
    assert kinds == [("use", -120), ("release", 300), ("reserve", -300), ("allocate", 300)]
    with pytest.raises(asyncpg.CheckViolationError, match="append-only"):
        await pool.execute("UPDATE minute_ledger SET seconds = 1")


async def test_two_calls_racing_for_the_last_minutes(pool: asyncpg.Pool, acme: str) -> None:
    await minutes.charge(pool, acme, 150, "x")
    await minutes.allocate(pool, acme, KIM, 150)  # 2 min 30 s: two whole minutes to talk
    for round_ in range(5):
        got = await asyncio.gather(
            *(minutes.reserve(pool, acme, KIM, f"r{round_}-{i}", 3600) for i in range(2))
        )
        assert sorted(got) == [0, 120]
        assert await minutes.balance(pool, acme, KIM) == 30
        winner = f"r{round_}-{got.index(120)}"
        await minutes.settle(pool, acme, KIM, winner, 0)  # nobody answered: all back
        assert await minutes.balance(pool, acme, KIM) == 150


async def test_monthly_reset_lapses_what_is_left(pool: asyncpg.Pool) -> None:
    await load(pool, yaml_for("mon", reset="monthly"))
    oct_ = datetime(2026, 10, 20, 3, 0, tzinfo=UTC)
    await minutes.charge(pool, "mon", 600, "october", now=oct_)
    await minutes.allocate(pool, "mon", KIM, 120, now=oct_)
    nov = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 2026-11-01 00:30 in Seoul
    assert await minutes.reserve(pool, "mon", KIM, "c1", 3600, now=nov) == 0
    await minutes.charge(pool, "mon", 60, "november", now=nov)
    assert await minutes.balance(pool, "mon", now=nov) == 60  # the 480 s left in October lapsed
    expired = [e for e in await minutes.ledger(pool, "mon") if e.kind.value == "expire"]
    assert [(e.seconds, e.reason) for e in expired] == [(-480, "monthly reset 2026-11")]


_tenants = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rounding=st.sampled_from(list(Rounding)),
    plan=st.lists(
        st.one_of(
            st.tuples(st.just("charge"), st.integers(1, 900)),
            st.tuples(st.just("allocate"), st.integers(1, 900)),
            st.tuples(st.just("call"), st.integers(0, 1000)),
        ),
        max_size=12,
    ),
)
async def test_ledger_properties(
    pool: asyncpg.Pool, rounding: Rounding, plan: list[tuple[str, int]]
) -> None:
    """Whatever happens, no balance is negative and the seconds used are the calls' talk
    seconds rounded up by the tenant's rule."""
    n = next(_tenants)
    tenant, mobile = f"p{n}", f"0109{n:07d}"
    await load(pool, yaml_for(tenant, rounding.value, mobile=mobile, caller_id=f"0505{n:07d}"))
    expected = 0
    for i, (op, amount) in enumerate(plan):
        if op == "charge":
            await minutes.charge(pool, tenant, amount, "p")
        elif op == "allocate":
            try:
                await minutes.allocate(pool, tenant, mobile, amount)
            except ConflictError:
                pass
        else:
            limit = await minutes.reserve(pool, tenant, mobile, f"{tenant}-{i}", 600)
            talked = min(amount, limit)
            charged = min(round_up(talked, rounding), limit)
            await minutes.settle(pool, tenant, mobile, f"{tenant}-{i}", charged)
            expected += charged if limit else 0
        assert await minutes.balance(pool, tenant) >= 0
        assert await minutes.balance(pool, tenant, mobile) >= 0
    used = await pool.fetchval(
        "SELECT coalesce(-sum(seconds), 0) FROM minute_ledger"
        " WHERE tenant_id = $1 AND kind = 'use'",
        tenant,
    )
    assert used == expected


def test_minutes_cli(
    settings_for_db: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings_for_db.database_url)
    path = tmp_path / "c.yaml"
    path.write_text(yaml_for("acme"), encoding="utf-8")
    assert main(["load", str(path)]) == 0
    capsys.readouterr()
    assert main(["minutes", "charge", "acme", "100", "--reason", "11월 충전"]) == 0
    assert "acme: charge 100 min; pool 100 min" in capsys.readouterr().out
    assert main(["minutes", "allocate", "acme", "김민수", "30"]) == 0
    assert "pool 70 min, 김민수 30 min" in capsys.readouterr().out
    assert main(["minutes", "allocate", "acme", "010-7777-8888", "80"]) == 1  # pool too small
    assert main(["minutes", "show", "acme"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("acme pool: 70 min (4200 s)")
    assert "member 김민수 (010-77**-88**): 30 min left; last 30 days: 0 calls" in out
    assert "charge    +6000 s  11월 충전" in out
    assert main(["minutes", "show", "acme", "010-7777-8888"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("acme 김민수 (010-77**-88**): 30 min (1800 s)")
        and "allocate  +1800 s" in out
    )
    assert main(["minutes", "charge", "acme", "0", "--reason", "x"]) == 1


async def test_the_cdr_writer_settles_outbound_records_in_their_transaction(
    db_url: str,
    pool: asyncpg.Pool,
    acme: str,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """The engine's writer (``service.py`` adds ``settle_outbound``): an outbound record's
    minutes are used once, even when the record is submitted twice; inbound ones are not
    touched; the record survives its journal line form."""
    from ivr_engine.domain.members import Member
    from ivr_engine.domain.outbound import OutboundPlan
    from ivr_engine.domain.outbound_record import OutboundFacts, OutboundOutcome, outbound_record
    from ivr_engine.domain.records import CallRecord
    from ivr_engine.store.cdr_writer import CdrWriter

    await minutes.charge(pool, acme, 600, "x")
    await minutes.allocate(pool, acme, KIM, 600)
    assert await minutes.reserve(pool, acme, KIM, "out-1", 300) == 300
    plan = OutboundPlan(
        acme,
        Member("김민수", KIM),
        "01020003000",
        "05051234567",
        "05051234567",
        30,
        300,
        (60, 10),
        True,
        True,
    )
    t0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    facts = OutboundFacts(
        "out-1",
        OutboundOutcome.COMPLETED,
        t0,
        t0.replace(minute=2, second=5),
        ended_by="customer",
        connected=t0.replace(second=5),
    )
    record = outbound_record(plan, facts, rounding=Rounding.PER_MINUTE)
    assert record.billsec == 120 and record.charged_seconds == 120
    assert CallRecord.from_json(record.to_json()) == record
    writer = CdrWriter(db_url, tmp_path / "journal")
    writer.add_companion(minutes.settle_outbound)
    await writer.start()
    try:
        writer.submit(record)
        writer.submit(record)
        await writer.flush()
    finally:
        await writer.close()
    assert await minutes.balance(pool, acme, KIM) == 480
    row = await pool.fetchrow(
        "SELECT direction, charged_seconds FROM call_records WHERE call_id = 'out-1'"
    )
    assert (row["direction"], row["charged_seconds"]) == ("outbound", 120)
