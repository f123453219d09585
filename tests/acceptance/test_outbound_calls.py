"""Click-to-call (``ivr-engine dial``) through the simulator over real sockets, on a real
Postgres: the member is rung first showing the company's number, hears "connecting you",
then the customer is rung showing the registered caller ID; the two are bridged; the talk
limit (the member's minutes) ends the call on the simulator's clock with warning tones; the
call record and the minutes used are written in one transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from ivr_engine.commands.outbound import DialResult, dial_command
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.outbound import RefusalCode
from ivr_engine.domain.outbound_record import OutboundOutcome
from ivr_engine.settings import AriSettings, Settings
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.sim import timeline as tl
from ivr_engine.store import minutes
from ivr_engine.store.loader import load_document
from tests.fixtures.sim import SimFactory

VN, LANDLINE = "05051234567", "023334444"
KIM, CUSTOMER = "01077778888", "01020003000"
CONFIG = """
tenants:
  - id: acme
    caller_ids:
      - {number: 0505-123-4567, verified: true, evidence: 050 가입증명서}
      - {number: 02-333-4444, verified: false}
    members:
      - {name: 김민수, mobile: 010-7777-8888, caller_ids: [0505-123-4567, 02-333-4444]}
    outbound: {rounding: per_minute, ring_seconds: 10}
"""


@pytest.fixture
async def sim(sim_factory: SimFactory) -> Simulator:
    """A simulator at 50x: a two-minute talk limit takes under three wall seconds."""
    return await sim_factory(speed=50.0)


async def allowance(pool: asyncpg.Pool, seconds: int) -> None:
    await load_document(pool, parse_document(load_yaml(CONFIG), "<t>"), source="<t>")
    await minutes.charge(pool, "acme", 6000, "test")
    await minutes.allocate(pool, "acme", KIM, seconds)


@pytest.fixture
def settings(settings_for_db: Settings, sim: Simulator) -> Settings:
    return dataclasses.replace(settings_for_db, ari=AriSettings(url=sim.ari_url))


def sim_clock(sim: Simulator) -> Callable[[], datetime]:
    return lambda: datetime.fromtimestamp(sim.clock.now(), UTC)


async def dial(settings: Settings, sim: Simulator, **kw: object) -> DialResult:
    placed: list[str] = []
    result = await dial_command(
        settings,
        str(kw.pop("member", "010-7777-8888")),
        str(kw.pop("to", "010-2000-3000")),
        kw.pop("caller_id", None),  # type: ignore[arg-type]
        clock=sim_clock(sim),
        time_scale=sim.config.speed,
        on_placed=placed.append,
    )
    assert placed == ([result.call_id] if result.call_id else [])
    return result


def kinds(sim: Simulator, channel: str) -> list[str]:
    return [e.kind for e in sim.timeline(channel)]


async def test_answered_call_is_bridged_recorded_and_charged(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings
) -> None:
    await allowance(pool, 600)
    sim.set_behaviour(KIM, Behaviour.answer_after(1.0))
    sim.set_behaviour(CUSTOMER, Behaviour.answer_after(2.0, talk=30.0))

    result = await dial(settings, sim)

    facts = result.facts
    assert facts is not None and facts.outcome is OutboundOutcome.COMPLETED
    assert facts.ended_by == "customer" and 29 <= facts.talk_seconds <= 31
    member = sim.world.all_channels[result.call_id]
    customer = sim.world.all_channels[f"{result.call_id}-c"]
    assert member.caller_number == VN  # no trace of the customer on the member's phone
    assert customer.caller_number == VN and customer.endpoint_resource == CUSTOMER
    plays = [e.media for e in member.timeline.entries if e.kind == tl.PLAY]
    assert plays[0] == "sound:ivr/system/connecting"
    assert tl.RINGBACK in kinds(sim, member.id)  # the member hears the customer ringing
    answered = [e.t_start for e in member.timeline.entries if e.kind == tl.ANSWERED]
    assert customer.timeline.entries[0].t_start >= answered[0]
    assert [e.peer for e in customer.timeline.entries if e.kind == tl.BRIDGED] == [member.id]
    assert member.gone and customer.gone and not sim.bridges

    assert result.charged_seconds == 60  # 30 s, per started minute
    assert await minutes.balance(pool, "acme", KIM) == 540
    row = await pool.fetchrow("SELECT * FROM call_records WHERE call_id = $1", result.call_id)
    assert (row["direction"], row["member"], row["caller_id_shown"], row["destination"]) == (
        "outbound",
        KIM,
        VN,
        CUSTOMER,
    )
    assert (row["disposition"], row["charged_seconds"], row["hangup_by"]) == (
        "ANSWERED",
        60,
        "callee",
    )
    assert row["billsec"] == facts.talk_seconds and row["dstchannel"] == customer.name
    cdr = await pool.fetchrow(
        "SELECT src, dst, lastdata, billsec FROM cdr WHERE uniqueid = $1", result.call_id
    )
    assert (cdr["src"], cdr["dst"], cdr["lastdata"]) == (VN, CUSTOMER, "ivr-engine,outbound")
    used = await pool.fetch(
        "SELECT kind, seconds FROM minute_ledger WHERE call_id = $1 ORDER BY id", result.call_id
    )
    assert [(r["kind"], r["seconds"]) for r in used] == [
        ("reserve", -600),
        ("release", 600),
        ("use", -60),
    ]


@pytest.mark.parametrize(
    ("behaviour", "outcome", "cause", "disposition"),
    [
        (Behaviour.busy(), OutboundOutcome.CUSTOMER_BUSY, 17, "BUSY"),
        (Behaviour.no_answer(), OutboundOutcome.CUSTOMER_NO_ANSWER, 19, "NO_ANSWER"),
        (Behaviour.unreachable(), OutboundOutcome.CUSTOMER_UNREACHABLE, 20, "FAILED"),
    ],
)
async def test_customer_not_reached_costs_nothing(
    pool: asyncpg.Pool,
    sim: Simulator,
    settings: Settings,
    behaviour: Behaviour,
    outcome: OutboundOutcome,
    cause: int,
    disposition: str,
) -> None:
    await allowance(pool, 600)
    sim.set_behaviour(KIM, Behaviour.answer_after(0.5))
    sim.set_behaviour(CUSTOMER, behaviour)

    result = await dial(settings, sim)

    assert result.facts is not None and (result.facts.outcome, result.facts.cause) == (
        outcome,
        cause,
    )
    assert sim.world.all_channels[result.call_id].gone  # the member is released
    assert result.charged_seconds == 0 and await minutes.balance(pool, "acme", KIM) == 600
    row = await pool.fetchrow(
        "SELECT disposition, attempts FROM call_records WHERE call_id = $1", result.call_id
    )
    assert row["disposition"] == disposition and row["attempts"][0]["cause"] == cause


async def test_member_not_answering_never_rings_the_customer(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings
) -> None:
    await allowance(pool, 600)
    sim.set_behaviour(KIM, Behaviour.no_answer())
    result = await dial(settings, sim)
    assert result.facts is not None
    assert (result.facts.outcome, result.facts.cause) == (OutboundOutcome.MEMBER_NO_ANSWER, 19)
    assert f"{result.call_id}-c" not in sim.world.all_channels
    assert await minutes.balance(pool, "acme", KIM) == 600


async def test_member_hanging_up_first_releases_the_customer(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings
) -> None:
    await allowance(pool, 600)
    sim.set_behaviour(KIM, Behaviour.answer_after(0.5, talk=20.0))  # hangs up 20 s after answering
    sim.set_behaviour(CUSTOMER, Behaviour.answer_after(1.0))  # would talk forever

    result = await dial(settings, sim)

    facts = result.facts
    assert facts is not None and facts.outcome is OutboundOutcome.COMPLETED
    assert facts.ended_by == "member"
    customer = sim.world.all_channels[f"{result.call_id}-c"]
    assert customer.gone and not sim.bridges
    row = await pool.fetchrow(
        "SELECT hangup_by FROM call_records WHERE call_id = $1", result.call_id
    )
    assert row["hangup_by"] == "caller"
    assert result.charged_seconds == 60


async def test_member_hanging_up_while_the_customer_rings_cancels(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings
) -> None:
    await allowance(pool, 600)
    # "connecting you" lasts 5.65 s: the member hangs up 2.35 s after it, while the customer rings
    sim.set_behaviour(KIM, Behaviour.answer_after(0.5, talk=8.0))
    sim.set_behaviour(CUSTOMER, Behaviour.no_answer())
    result = await dial(settings, sim)
    assert result.facts is not None and result.facts.outcome is OutboundOutcome.CANCELLED
    assert sim.world.all_channels[f"{result.call_id}-c"].gone  # stops ringing
    row = await pool.fetchrow(
        "SELECT disposition FROM call_records WHERE call_id = $1", result.call_id
    )
    assert row["disposition"] == "ABANDONED"


async def test_allowance_exhausted_mid_call_ends_at_the_limit(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings
) -> None:
    await allowance(pool, 150)  # 2 min 30 s: a two-minute talk limit per started minute
    sim.set_behaviour(KIM, Behaviour.answer_after(0.5))
    sim.set_behaviour(CUSTOMER, Behaviour.answer_after(1.0))  # neither would hang up

    result = await dial(settings, sim)

    facts = result.facts
    assert facts is not None and (facts.outcome, facts.ended_by) == (
        OutboundOutcome.COMPLETED,
        "limit",
    )
    assert result.plan is not None and result.plan.talk_limit == 120
    customer = sim.world.all_channels[f"{result.call_id}-c"]
    [bridged] = [e for e in customer.timeline.entries if e.kind == tl.BRIDGED]
    assert bridged.t_end is not None
    assert bridged.t_end - bridged.t_start == pytest.approx(120.0, abs=1.0)  # simulated seconds
    member = sim.world.all_channels[result.call_id]
    beeps = [
        e.t_start - bridged.t_start
        for e in member.timeline.entries
        if e.kind == tl.PLAY and e.media == "sound:beep"
    ]
    assert beeps == [pytest.approx(60.0, abs=1.0), pytest.approx(110.0, abs=1.0)]
    assert facts.warnings_played == (60, 10) and facts.cause == 16
    assert result.charged_seconds == 120 and await minutes.balance(pool, "acme", KIM) == 30
    row = await pool.fetchrow(
        "SELECT hangup_by, reasons FROM call_records WHERE call_id = $1", result.call_id
    )
    assert row["hangup_by"] == "engine" and "talk limit of 2 min reached" in row["reasons"]


async def test_unverified_caller_id_is_refused_before_any_call(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await allowance(pool, 600)
    result = await dial(settings, sim, caller_id="02-333-4444")
    assert result.refusal is not None and result.refusal.code is RefusalCode.CALLER_ID_UNVERIFIED
    assert result.lines()[0].startswith("refused (caller-id-unverified): caller ID 02-333-4444")
    assert not sim.world.all_channels
    assert await pool.fetchval("SELECT count(*) FROM minute_ledger WHERE call_id IS NOT NULL") == 0
    assert "refused: caller-id-unverified" in caplog.text and "7777-8888" not in caplog.text


async def test_no_minutes_left_is_refused(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings
) -> None:
    await allowance(pool, 59)
    result = await dial(settings, sim)
    assert result.refusal is not None and result.refusal.code is RefusalCode.NO_MINUTES
    assert not sim.world.all_channels


def test_the_dial_command_line() -> None:
    import argparse

    from ivr_engine.commands import outbound

    parser = argparse.ArgumentParser()
    outbound.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dial", "--member", "010-7777-8888", "--to", "010-2000-3000"])
    assert (args.member, args.to, args.caller_id) == ("010-7777-8888", "010-2000-3000", None)
    args = parser.parse_args(["dial", "--member", "m", "--to", "t", "--caller-id", VN])
    assert args.caller_id == VN
