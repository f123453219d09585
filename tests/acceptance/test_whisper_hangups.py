"""A party hanging up while the whisper plays to the callee, or just as it ends: the other
party is released at once, no other target is rung, the call is recorded once with who
hung up and the right disposition, and neither a leg nor a bridge is left behind.

The callee's hang-up is scripted two ways: by its behaviour (it answers after 1 s and hangs
up 1 s later, inside the 2.7 s whisper), and through the simulator's observers at the
moment the whisper starts or finishes on its channel (what real Asterisk then sends is in
tests/fidelity: ChannelHangupRequest, PlaybackFinished ``failed``, StasisEnd,
ChannelDestroyed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from ivr_engine.asterisk.constants import AriEvent
from ivr_engine.sim import Behaviour
from ivr_engine.sim.core import BY_BYE
from ivr_engine.sim.model import Channel, Playback
from ivr_engine.sim.timeline import MediaEvent

from .conftest import Harness
from .test_records import OPEN, Recorded, record_of, recorded  # noqa: F401  (fixture)

GANGNAM, FIRST, SECOND, CALLER = "05051234567", "01011112222", "023334444", "01020003000"
# Simulated seconds the engine may take to release the other party (it takes ~0.05).
PROMPTLY = 0.5


def on_whisper(h: Harness, event: str, act: Callable[[Channel, Channel], None]) -> None:
    """Run ``act(caller, callee)`` right after the whisper's PlaybackStarted or
    PlaybackFinished (``event``) on the callee's channel."""
    world, loop = h.sim.world, asyncio.get_running_loop()

    def observer(what: str, ch: Channel | None, info: dict[str, Any]) -> None:
        playback: Playback | None = info.get("playback")
        if what != event or ch is None or playback is None or not playback.id.startswith("wh-"):
            return
        if event == AriEvent.PLAYBACK_FINISHED and playback.state != "done":
            return
        caller = world.channels.get(ch.id.rsplit("-t", 1)[0])
        if caller is not None:
            loop.call_soon(act, caller, ch)

    world.observers.append(observer)


def target_legs(h: Harness, call_id: str) -> list[Channel]:
    return [c for c in h.sim.world.all_channels.values() if c.id.startswith(call_id + "-t")]


def hangup_at(events: list[MediaEvent]) -> float:
    (hangup,) = [e for e in events if e.kind == "hangup"]
    return hangup.t_start


def whisper_of(h: Harness, leg: Channel) -> MediaEvent:
    (whisper,) = [e for e in h.sim.timeline(leg.id) if e.kind == "play"]
    return whisper


@pytest.mark.parametrize("scripted", ["behaviour", "observer"])
async def test_callee_hangs_up_during_the_whisper_releases_the_caller(
    recorded: Recorded,  # noqa: F811
    scripted: str,
) -> None:
    h, writer = await recorded(OPEN)
    if scripted == "behaviour":
        h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=1.0))
    else:
        h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))
        on_whisper(
            h,
            AriEvent.PLAYBACK_STARTED,
            lambda _caller, callee: h.sim.world.hangup(callee, BY_BYE),
        )
    # Were the caller handed on to the next target, it would be bridged with this one.
    h.sim.set_behaviour(SECOND, Behaviour.answer_after(1.0, talk=2.0))
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)

    (leg,) = target_legs(h, call.channel_id)  # no failover to the second target
    assert whisper_of(h, leg).result == "interrupted"
    caller = h.sim.timeline(call.channel_id)
    assert not [e for e in caller if e.kind in ("answered", "bridged")], caller
    assert [e.kind for e in caller][-1] == "hangup"
    released = hangup_at(caller) - hangup_at(h.sim.timeline(leg.id))
    assert 0.0 <= released < PROMPTLY, released
    assert (row["hangup_by"], row["hangup_cause"]) == ("callee", 16)
    assert (row["disposition"], row["asterisk_disposition"]) == ("NO_ANSWER", "NO ANSWER")
    assert (row["answer_time"], row["answered_target"], row["billsec"]) == (None, None, 0)
    assert [(a["target"], a["result"], a["cause"]) for a in row["attempts"]] == [
        (FIRST, "no_answer", 16)
    ]
    assert [(p["kind"], p["result"]) for p in row["prompts"]][-1] == ("whisper", "interrupted")
    assert await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records") == 1
    assert not h.sim.bridges, "a bridge was left behind"


async def test_caller_hangs_up_during_the_whisper_releases_the_callee(
    recorded: Recorded,  # noqa: F811
) -> None:
    h, writer = await recorded(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))
    on_whisper(
        h,
        AriEvent.PLAYBACK_STARTED,
        lambda caller, _callee: h.sim.world.caller_hangs_up(caller),
    )
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)

    (leg,) = target_legs(h, call.channel_id)
    await asyncio.wait_for(leg.ended.wait(), 5)  # the engine released the callee
    assert whisper_of(h, leg).result == "interrupted"
    released = hangup_at(h.sim.timeline(leg.id)) - hangup_at(h.sim.timeline(call.channel_id))
    assert 0.0 <= released < PROMPTLY, released
    assert (row["hangup_by"], row["hangup_cause"]) == ("caller", 127)  # CANCEL, unanswered
    assert (row["disposition"], row["asterisk_disposition"]) == ("ABANDONED", "NO ANSWER")
    assert (row["answer_time"], row["billsec"]) == (None, 0)
    assert [(a["target"], a["result"]) for a in row["attempts"]] == [(FIRST, "cancelled")]
    assert await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records") == 1
    assert not h.sim.bridges, "a bridge was left behind"


@pytest.mark.parametrize("destroy_delay", [0.0, 5.0])
async def test_callee_hangs_up_as_the_whisper_ends(
    recorded: Recorded,  # noqa: F811
    destroy_delay: float,
) -> None:
    h, writer = await recorded(OPEN)
    h.sim.world.destroy_delay = destroy_delay  # the leg outside Stasis but not destroyed yet
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=30.0))
    h.sim.set_behaviour(SECOND, Behaviour.answer_after(1.0, talk=2.0))
    on_whisper(
        h,
        AriEvent.PLAYBACK_FINISHED,
        lambda _caller, callee: h.sim.world.hangup(callee, BY_BYE),
    )
    call = await h.call(GANGNAM, CALLER)
    row = await record_of(h, writer, call)

    (leg,) = target_legs(h, call.channel_id)
    assert whisper_of(h, leg).result == "complete"
    caller = h.sim.timeline(call.channel_id)
    assert not [e for e in caller if e.kind == "bridged"], caller
    released = hangup_at(caller) - hangup_at(h.sim.timeline(leg.id))
    assert 0.0 <= released < PROMPTLY, released
    # Whether the caller's answer went out before the engine saw the hang-up is the race
    # itself: either way the record is the callee's, without talk time, and consistent.
    answered = any(e.kind == "answered" for e in caller)
    assert (row["answer_time"] is not None) is answered
    assert row["disposition"] == ("ANSWERED" if answered else "NO_ANSWER"), dict(row)
    assert (row["hangup_by"], row["hangup_cause"], row["billsec"]) == ("callee", 16, 0)
    assert [a["target"] for a in row["attempts"]] == [FIRST]
    assert await h.engine.db.pool.fetchval("SELECT count(*) FROM call_records") == 1
    assert not h.sim.bridges, "a bridge was left behind"
