"""Forwarding with coloring and whisper, through the simulator, asserting on what each party
heard and in which order."""

from __future__ import annotations

from datetime import datetime

from ivr_engine.domain.dialing import TargetResult
from ivr_engine.domain.trace import CallTrace
from ivr_engine.sim import Behaviour

from .conftest import EngineFactory

OPEN = datetime(2026, 11, 20, 12, 0)  # a Friday, open hours of 0505-123-4567
GANGNAM = "05051234567"
FIRST, SECOND = "01011112222", "023334444"


def legs_of(trace: CallTrace) -> list[str]:
    """The target legs the engine created for a call, in order."""
    return [e.data["leg"] for e in trace.entries if e.kind == "ring"]


def _plays(events: list, *, early: bool | None = None) -> list:
    return [e for e in events if e.kind == "play" and (early is None or e.early_media == early)]


async def test_forward_with_coloring_and_whisper(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(3.0, talk=4.0))
    call = await h.call(GANGNAM, "01020003000")
    trace = await h.finished(call)

    caller = h.sim.timeline(call.channel_id)
    coloring = _plays(caller, early=True)
    assert coloring, "the caller heard no coloring as early media"
    answered = [e for e in caller if e.kind == "answered"]
    assert len(answered) == 1
    # The coloring ended before the caller was answered: no charge while it played.
    assert all(p.t_end is not None and p.t_end <= answered[0].t_start for p in coloring)
    assert not _plays(caller, early=False), "the caller heard a prompt after the answer"

    (leg,) = legs_of(trace)
    callee = h.sim.timeline(leg)
    whisper = _plays(callee)
    assert len(whisper) == 1 and whisper[0].result == "complete"
    # The caller is answered only after the callee heard the whisper to its end.
    assert whisper[0].t_end is not None and whisper[0].t_end <= answered[0].t_start
    assert any(e.kind == "bridged" for e in caller)
    assert [a.result for a in trace.attempts] == [TargetResult.ANSWERED]
    assert trace.answered_target == FIRST
    assert trace.hangup_by == "callee"


async def test_sequential_failover_busy_then_answer(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.busy())
    h.sim.set_behaviour(SECOND, Behaviour.answer_after(2.0, talk=6.0))
    call = await h.call(GANGNAM, "01020003000")
    trace = await h.finished(call)
    assert [(a.target, a.result, a.cause) for a in trace.attempts] == [
        (FIRST, TargetResult.BUSY, 17),
        (SECOND, TargetResult.ANSWERED, None),
    ]
    assert trace.answered_target == SECOND


async def test_all_targets_fail_plays_cannot_be_reached(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.busy())
    h.sim.set_behaviour(SECOND, Behaviour.unreachable(cause=20))
    call = await h.call(GANGNAM, "01020003000")
    trace = await h.finished(call)
    assert [a.result for a in trace.attempts] == [TargetResult.BUSY, TargetResult.UNREACHABLE]
    caller = h.sim.timeline(call.channel_id)
    last = _plays(caller)[-1]
    assert last.media.endswith("ivr/system/cannot-be-reached") and last.early_media
    assert not any(e.kind == "answered" for e in caller)
    assert trace.hangup_cause == 17  # busy wins over unreachable


async def test_caller_hangs_up_while_target_rings(call_engine: EngineFactory) -> None:
    h = await call_engine(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.no_answer())
    call = await h.call(GANGNAM, "01020003000", hangup_after=3.0)
    trace = await h.finished(call)
    assert trace.hangup_by == "caller"
    assert [a.result for a in trace.attempts] == [TargetResult.CANCELLED]
    (leg,) = legs_of(trace)
    assert h.sim.channels.get(leg) is None or h.sim.channels[leg].gone
