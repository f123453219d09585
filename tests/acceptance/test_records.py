"""Calls through the simulator leave the right call records in Postgres: disposition,
attempts, ring and talk seconds, and the Asterisk ``cdr`` view."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.domain.trace import CallTrace
from ivr_engine.sim import Behaviour
from ivr_engine.sim.model import Channel
from ivr_engine.store.cdr_queries import fetch_record
from ivr_engine.store.cdr_writer import CdrWriter

from .conftest import EngineFactory, Harness

OPEN = datetime(2026, 11, 20, 12, 0)  # a Friday, open hours of 0505-123-4567
AFTER_HOURS = datetime(2026, 11, 20, 23, 30)
GANGNAM = "05051234567"
FIRST, SECOND = "01011112222", "023334444"
CALLER, BLOCKED = "01020003000", "01099990000"

Recorded = Callable[[datetime], Awaitable[tuple[Harness, CdrWriter]]]


@pytest.fixture
async def recorded(call_engine: EngineFactory, tmp_path: Path) -> AsyncIterator[Recorded]:
    """An engine whose finished calls go through a CDR writer (chained to any hook)."""
    async with AsyncExitStack() as stack:

        async def start(at: datetime) -> tuple[Harness, CdrWriter]:
            h = await call_engine(at)
            writer = CdrWriter(h.engine.db.url, tmp_path / "journal", flush_interval=0.01)
            await writer.start()
            stack.push_async_callback(writer.close)
            previous = h.engine.env.on_end

            def on_end(trace: CallTrace) -> None:
                if previous is not None:
                    previous(trace)
                writer.on_call_end(trace)

            h.engine.env.on_end = on_end
            return h, writer

        yield start


async def record_of(h: Harness, writer: CdrWriter, call: object) -> asyncpg.Record:
    """Wait for the call's end, then for its record to be committed; return the row."""
    await h.finished(call)  # type: ignore[arg-type]
    await writer.flush()
    row = await fetch_record(h.engine.db.pool, call.channel_id)  # type: ignore[attr-defined]
    assert row is not None, "the call left no record"
    return row


def floor_seconds(start: datetime, end: datetime) -> int:
    return math.floor((end - start).total_seconds())


def simulated_talk(h: Harness, channel_id: str) -> float:
    """Seconds from the caller's bridge to its hangup, as the simulator saw them."""
    events = {e.kind: e.t_start for e in h.sim.timeline(channel_id)}
    return events["hangup"] - events["bridged"]


async def test_answered_call(recorded: Recorded) -> None:
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(3.0, talk=6.0))
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    assert (row["disposition"], row["asterisk_disposition"]) == ("ANSWERED", "ANSWERED")
    assert (row["number"], row["caller"], row["tenant_id"]) == (GANGNAM, CALLER, "gangnam-pizza")
    assert row["answered_target"] == FIRST
    assert [(a["target"], a["result"]) for a in row["attempts"]] == [(FIRST, "answered")]
    assert row["billsec"] == floor_seconds(row["connect_time"], row["end_time"])
    # the callee hangs up 6 s after answering; the whisper took part of that
    talk = simulated_talk(h, call.channel_id)
    assert 1.0 < talk < 6.0
    assert abs(row["billsec"] - talk) <= 1.0
    assert 3.0 <= row["ring_seconds"] < 8.0  # 3 s of ringing, then the whisper
    assert row["duration"] == floor_seconds(row["start_time"], row["end_time"])
    assert row["hangup_by"] == "callee" and row["plan_state"] == "open"
    assert row["hangup_cause"] == 16  # the callee's BYE: Normal Clearing
    assert {p["kind"] for p in row["prompts"]} >= {"coloring", "whisper"}
    assert row["config_version"] and row["reasons"]
    cdr = await h.engine.db.pool.fetchrow("SELECT * FROM cdr WHERE uniqueid = $1", row["call_id"])
    assert (cdr["disposition"], cdr["dst"], cdr["billsec"]) == ("ANSWERED", GANGNAM, row["billsec"])


async def test_caller_bye_while_talking_records_normal_clearing(recorded: Recorded) -> None:
    """A caller's BYE gives a ChannelHangupRequest without cause keys and, on a plain
    inbound channel, no ChannelDestroyed (protocol facts H): the record still reads Normal
    Clearing, as Asterisk's own CDR would."""
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=60.0))
    call = await h.call(GANGNAM, CALLER, hangup_after=12.0)
    row = await record_of(h, writer, call)
    assert (row["disposition"], row["hangup_by"], row["hangup_cause"]) == ("ANSWERED", "caller", 16)
    assert row["answered_target"] == FIRST and row["billsec"] > 0


async def test_busy_then_answer(recorded: Recorded) -> None:
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.busy())
    h.sim.set_behaviour(SECOND, Behaviour.answer_after(2.0, talk=5.0))
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    assert row["disposition"] == "ANSWERED" and row["answered_target"] == SECOND
    assert [(a["target"], a["result"], a["cause"]) for a in row["attempts"]] == [
        (FIRST, "busy", 17),
        (SECOND, "answered", None),
    ]
    assert abs(row["billsec"] - simulated_talk(h, call.channel_id)) <= 1.0


async def test_all_targets_fail(recorded: Recorded) -> None:
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.busy())
    h.sim.set_behaviour(SECOND, Behaviour.unreachable(cause=20))
    row = await record_of(h, writer, await h.call(GANGNAM, CALLER))
    assert (row["disposition"], row["asterisk_disposition"]) == ("BUSY", "BUSY")
    assert [a["result"] for a in row["attempts"]] == ["busy", "unreachable"]
    assert (row["billsec"], row["answer_time"], row["hangup_cause"]) == (0, None, 17)
    assert any(p["label"] == "cannot-be-reached" for p in row["prompts"])


async def test_caller_abandons_while_ringing(recorded: Recorded) -> None:
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.no_answer())
    row = await record_of(h, writer, await h.call(GANGNAM, CALLER, hangup_after=3.0))
    assert (row["disposition"], row["asterisk_disposition"]) == ("ABANDONED", "NO ANSWER")
    assert [a["result"] for a in row["attempts"]] == ["cancelled"]
    assert row["hangup_by"] == "caller" and row["billsec"] == 0
    assert 1.5 <= row["ring_seconds"] <= 3.5


async def test_closed_and_blocked_calls(recorded: Recorded) -> None:
    h, writer = await recorded(AFTER_HOURS)
    closed = await record_of(h, writer, await h.call(GANGNAM, CALLER))
    assert (closed["disposition"], closed["closed_state"]) == ("CLOSED", "after_hours")
    assert closed["plan_state"] == "closed" and closed["attempts"] == []
    assert [p["label"] for p in closed["prompts"]] == ["after_hours"]
    blocked = await record_of(h, writer, await h.call(GANGNAM, BLOCKED))
    assert (blocked["disposition"], blocked["asterisk_disposition"]) == ("BLOCKED", "FAILED")
    assert blocked["hangup_cause"] == 21 and blocked["closed_state"] is None
    count = await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records")
    assert count == 2


def target_legs(h: Harness, caller_id: str) -> dict[str, Channel]:
    """The target legs the engine made for a call (ids ``<caller>-t<n>``), by number."""
    legs = h.sim.world.all_channels.values()
    return {c.number: c for c in legs if c.id.startswith(caller_id + "-t")}


async def test_cdr_channels_are_the_asterisk_channel_names(recorded: Recorded) -> None:
    # Asterisk's CDR tools join on channel names (PJSIP/carrier-0000000a), not on numbers.
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.busy())
    h.sim.set_behaviour(SECOND, Behaviour.answer_after(1.0, talk=3.0))
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    assert row["answered_target"] == SECOND
    legs = target_legs(h, call.channel_id)
    cdr = await h.engine.db.pool.fetchrow("SELECT * FROM cdr WHERE uniqueid = $1", row["call_id"])
    assert cdr["channel"] == call.channel.name and cdr["channel"].startswith("PJSIP/carrier-")
    assert cdr["dstchannel"] == legs[SECOND].name != legs[FIRST].name
    assert (row["channel"], row["dstchannel"]) == (cdr["channel"], cdr["dstchannel"])


async def test_unanswered_cdr_names_the_last_channel_dialled(recorded: Recorded) -> None:
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.busy())
    h.sim.set_behaviour(SECOND, Behaviour.busy())
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    assert row["disposition"] == "BUSY"
    legs = target_legs(h, call.channel_id)
    cdr = await h.engine.db.pool.fetchrow("SELECT * FROM cdr WHERE uniqueid = $1", row["call_id"])
    assert (cdr["channel"], cdr["dstchannel"]) == (call.channel.name, legs[SECOND].name)
