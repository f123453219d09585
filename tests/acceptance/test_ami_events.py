"""A forwarded call brings the engine's AMI session no call events: it asks only for the
events it handles (OriginateResponse, FullyBooted, device and queue member states)."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr_engine.sim import Behaviour

from .conftest import EngineFactory

OPEN = datetime(2026, 11, 20, 12, 0)  # a Friday, open hours of 0505-123-4567
CALL_CLASS = {
    "Newchannel",
    "Newstate",
    "NewConnectedLine",
    "DialBegin",
    "DialState",
    "DialEnd",
    "BridgeCreate",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeDestroy",
    "HangupRequest",
    "SoftHangupRequest",
    "Hangup",
}


@pytest.mark.parametrize("event_filter", [True, False])
async def test_forwarded_call_call_events_on_the_ami_session(
    call_engine: EngineFactory, event_filter: bool
) -> None:
    h = await call_engine(OPEN, ami_event_filter=event_filter)
    ami = h.engine.ami
    assert ami is not None
    for target in ("01011112222", "023334444"):
        h.sim.set_behaviour(target, Behaviour.answer_after(1.0, talk=2.0))
    call = await h.call("05051234567", "01020003000")
    trace = await h.finished(call)
    assert trace.attempts, "the engine rang no target"
    await ami.ping()  # the simulator wrote every event of the call before this reply
    received = {name for name in ami.event_counts if name in CALL_CLASS}
    if event_filter:
        assert received == set()
    else:
        assert received >= {"Newchannel", "DialBegin", "Newstate", "Hangup"}, received
