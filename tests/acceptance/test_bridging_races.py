"""A party hanging up just as the caller and the callee are bridged (or the caller as the
call arrives, before its targets ring), and an ARI error nobody expected: the call ends
cleanly, is recorded once with the right disposition, no leg is left up, and an unexpected
error is logged with the call id.

The simulator is scripted through its observers: at the moment the caller's channel is
answered (the engine's last request before it creates the bridge and adds both parties),
a party hangs up, or the caller's channel starts recording (Asterisk then refuses to
bridge it: 409 "currently recording"). How the engine reads an error reply that arrives
before the hangup's events is in tests/unit/test_race.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from ivr_engine.sim import Behaviour
from ivr_engine.sim.core import BY_BYE
from ivr_engine.sim.model import Channel

from .conftest import Harness
from .test_records import OPEN, Recorded, record_of, recorded  # noqa: F401  (fixture)

GANGNAM, FIRST, CALLER = "05051234567", "01011112222", "01020003000"


def when_caller_answered(h: Harness, act: Callable[[Channel, Channel], None]) -> None:
    """Run ``act(caller, callee)`` right after the caller's channel is answered."""
    world, loop = h.sim.world, asyncio.get_running_loop()

    def observer(what: str, ch: Channel, info: dict[str, Any]) -> None:
        if what != "Newstate" or ch.state != "Up" or "-" in ch.id:
            return
        legs = [c for c in world.channels.values() if c.id.startswith(ch.id + "-t")]
        up = [c for c in legs if c.state == "Up"]
        if up:
            loop.call_soon(act, ch, up[0])

    world.observers.append(observer)


@pytest.mark.parametrize("destroy_delay", [0.0, 5.0])
async def test_callee_hangs_up_as_it_is_bridged(
    recorded: Recorded,  # noqa: F811
    destroy_delay: float,
) -> None:
    h, writer = await recorded(OPEN)
    h.sim.world.destroy_delay = destroy_delay  # 422 while the leg is not destroyed yet
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))
    when_caller_answered(h, lambda _caller, callee: h.sim.world.hangup(callee, BY_BYE))
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    assert (row["disposition"], row["hangup_by"], row["hangup_cause"]) == ("ANSWERED", "callee", 16)
    assert row["billsec"] == 0 and row["answered_target"] == FIRST
    assert await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records") == 1
    assert not [e for e in h.sim.timeline(call.channel_id) if e.kind == "bridged"]
    assert [e.kind for e in h.sim.timeline(call.channel_id)][-1] == "hangup"
    assert not h.sim.bridges, "the conversation's bridge was left behind"


async def test_caller_hangs_up_as_it_is_bridged(recorded: Recorded) -> None:  # noqa: F811
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))
    when_caller_answered(h, lambda caller, _callee: h.sim.world.caller_hangs_up(caller))
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    # Whether the engine still saw its answer succeed before the hang-up is the race itself:
    # either way the record is consistent, the caller's, and without talk time.
    answered = row["answered_target"] == FIRST
    assert row["disposition"] == ("ANSWERED" if answered else "ABANDONED"), dict(row)
    assert row["hangup_by"] == "caller" and row["billsec"] == 0
    assert [(a["target"], a["result"]) for a in row["attempts"]] == [(FIRST, "answered")]
    made = h.sim.world.all_channels.values()
    (leg,) = [c for c in made if c.id.startswith(call.channel_id + "-t")]
    await asyncio.wait_for(leg.ended.wait(), 5)  # the engine released the callee
    assert await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records") == 1
    assert not h.sim.bridges, "the conversation's bridge was left behind"


async def test_an_unexpected_ari_error_is_logged_with_the_call_id_and_the_call_ends(
    recorded: Recorded,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    h, writer = await recorded(OPEN)
    world = h.sim.world
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))

    def record_caller(caller: Channel, _callee: Channel) -> None:
        rec = world.new_recording("stray", "wav", f"channel:{caller.id}", 0.0, "none")
        assert caller.control is not None
        caller.control.submit(lambda: world.run_recording(rec, caller))

    when_caller_answered(h, record_caller)
    caplog.set_level(logging.INFO, logger="ivr_engine")
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)
    assert (row["hangup_by"], row["hangup_cause"]) == ("engine", 38)
    assert await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records") == 1
    legs = [c for c in world.all_channels.values() if c.id.startswith(call.channel_id + "-t")]
    assert legs and all(c.gone for c in legs), "a target leg was left up"
    warned = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and call.channel_id in r.getMessage()
    ]
    assert any("addChannel -> 409" in m and "currently recording" in m for m in warned), warned


async def test_a_caller_gone_before_its_targets_ring_has_none_rung_or_failed(
    recorded: Recorded,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The caller hangs up as the call arrives: the engine's requests on its channel (the
    # coloring's play: 404, an originate naming it as originator: 400 "Provided originator
    # channel was not found") fail because it is gone. That is the caller's hang-up, not a
    # target failing: no target is tried on, none is recorded as failed, nothing warns.
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))
    caplog.set_level(logging.INFO)
    call = await h.call(GANGNAM, CALLER, hangup_after=0.0)
    row = await record_of(h, writer, call)
    assert (row["disposition"], row["hangup_by"]) == ("ABANDONED", "caller")
    assert [a["result"] for a in row["attempts"]] in ([], ["cancelled"]), row["attempts"]
    legs = [c for c in h.sim.world.all_channels.values() if c.id.startswith(call.channel_id)]
    for leg in legs:
        await asyncio.wait_for(leg.ended.wait(), 5)  # none left up
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warned, warned
