"""Announcements and the scripted demo flows: what the caller hears and how the call ends."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from ivr_engine.demo import SCENARIOS, render_call, run_scenario
from ivr_engine.prompts.manifest import prompt_texts
from ivr_engine.sim import Behaviour

from .conftest import EngineFactory

GANGNAM = "05051234567"


def _plays(events: list) -> list:
    return [e for e in events if e.kind == "play"]


@pytest.mark.parametrize(
    ("at", "caller", "state", "media_tail", "cause"),
    [
        (datetime(2026, 11, 20, 23, 30), "01020003000", "closed", "tts-", 16),
        (datetime(2026, 11, 20, 15, 30), "01020003000", "lunch", "tts-", 16),
        (datetime(2026, 12, 31, 12, 0), "01020003000", "holiday", "tts-", 16),
        (datetime(2026, 11, 25, 11, 30), "01020003000", "block_period", "tts-", 16),
        (
            datetime(2026, 11, 20, 12, 0),
            "+82 10-9999-0000",
            "blocked_caller",
            "system/blocked-caller",
            21,
        ),
        (datetime(2026, 11, 20, 12, 0), "anonymous", "blocked_caller", "system/blocked-caller", 21),
    ],
)
async def test_announcement_is_early_media_then_hangup(
    call_engine: EngineFactory, at: datetime, caller: str, state: str, media_tail: str, cause: int
) -> None:
    h = await call_engine(at)
    call = await h.call(GANGNAM, caller)
    trace = await h.finished(call)
    assert trace.state == state and trace.outcome == "announce"
    heard = h.sim.timeline(call.channel_id)
    plays = _plays(heard)
    assert len(plays) == 1 and plays[0].early_media and plays[0].result == "complete"
    assert media_tail in plays[0].media
    assert not any(e.kind == "answered" for e in heard), "an announcement answered the call"
    hangups = [e for e in heard if e.kind == "hangup"]
    assert hangups and hangups[-1].detail.get("cause") == cause
    assert trace.hangup_by == "engine" and trace.hangup_cause == cause
    assert not [e for e in trace.entries if e.kind == "ring"], "an announcement rang a target"


async def test_answer_before_announcement_option(call_engine: EngineFactory) -> None:
    h = await call_engine(datetime(2026, 11, 20, 12, 0))  # a Friday noon: closed for 0502
    call = await h.call("050243218765", "01020003000")
    trace = await h.finished(call)
    heard = h.sim.timeline(call.channel_id)
    answered = [e for e in heard if e.kind == "answered"]
    plays = _plays(heard)
    assert trace.state == "closed"
    assert answered and plays and answered[0].t_start <= plays[0].t_start
    assert not plays[0].early_media


async def test_unknown_number_and_malformed_caller_get_a_defined_outcome(
    call_engine: EngineFactory,
) -> None:
    h = await call_engine(datetime(2026, 11, 20, 12, 0))
    unknown = await h.call("05099998888", "01020003000")
    trace = await h.finished(unknown)
    assert trace.state == "unallocated" and trace.hangup_cause == 1
    # A caller ID that is not a number is anonymous: this number blocks anonymous callers.
    weird = await h.call(GANGNAM, "<script>;DROP")
    h.sim.set_behaviour("01011112222", Behaviour.answer_after(1.0, talk=3.0))
    trace = await h.finished(weird)
    assert trace.state == "blocked_caller" and trace.answered_target is None
    assert trace.hangup_cause == 21
    assert any("not a phone number: treated as an anonymous caller" in r for r in trace.reasons)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.title.split(":")[0][:40])
async def test_demo_scenarios(call_engine: EngineFactory, scenario) -> None:
    h = await call_engine(scenario.at.replace(tzinfo=None))
    trace = await run_scenario(h.engine, dataclasses.replace(scenario), h.sim, timeout=30)
    assert trace.ended_at is not None
    assert scenario.expect.mismatches(trace) == []
    expect = scenario.expect
    assert (trace.state, trace.outcome, trace.answered_target, trace.hangup_cause) == (
        expect.state,
        expect.outcome,
        expect.answered,
        expect.cause,
    )
    heard = h.sim.timeline(trace.channel_id)
    assert heard and heard[-1].kind == "hangup", "the caller was left without an end"
    if trace.outcome == "announce":
        assert not any(e.kind == "bridged" for e in heard)
    if trace.answered_target:
        assert any(e.kind == "bridged" for e in heard)
    assert [e.media for e in heard if e.kind == "dtmf_sent"] == [k for _, k in scenario.dtmf]
    pool = h.engine.db.pool
    if "callback" in expect.entries:
        rows = await pool.fetch("SELECT number, caller, source, status FROM callback_requests")
        assert [tuple(r) for r in rows] == [(scenario.to, scenario.caller, "menu", "open")]
    if "queue" in expect.entries:
        rows = await pool.fetch("SELECT queue_id, outcome, agent_id FROM queue_calls")
        assert [tuple(r) for r in rows] == [("support", "answered", scenario.agents[0])]
    for agent in scenario.agents:  # logged in for the call only
        assert await pool.fetchval("SELECT state FROM agents WHERE id = $1", agent) == "offline"


def test_the_demo_has_a_menu_a_queue_and_a_callback_call() -> None:
    expects = [s for s in SCENARIOS if s.expect.outcome == "menu"]
    assert all(s.dtmf for s in expects), "a menu call needs a key"
    assert any(s.expect.answered and not s.expect.entries for s in expects)  # forwarded
    assert any("queue" in s.expect.entries and s.agents for s in expects)
    assert any("callback" in s.expect.entries for s in expects)


async def test_the_demo_shows_what_the_caller_heard_in_words(
    call_engine: EngineFactory, built_sounds: Path
) -> None:
    scenario = SCENARIOS[0]  # forward with coloring and whisper
    h = await call_engine(scenario.at.replace(tzinfo=None))
    trace = await run_scenario(h.engine, dataclasses.replace(scenario), h.sim, timeout=30)
    shown = render_call(h.sim, trace, prompt_texts(built_sounds))
    heard = shown.split("  caller heard:")[1].split("  target leg")[0]
    assert '"전화 주셔서 감사합니다. 강남피자입니다." (early media)' in heard  # the coloring
    assert "sound:ivr/tts-" not in shown  # every prompt of this call has a text
    assert '"배달앱 주문 전화입니다."' in shown.split("  target leg")[1]  # the whisper
    plain = render_call(h.sim, trace)  # without texts: the sound names
    assert "sound:ivr/tts-" in plain.split("  caller heard:")[1]
