"""addChannel racing a hang-up, as ``res/ari/resource_bridges.c`` answers it (Asterisk 22):

* the bridge is looked up first (404), then every channel in order: 400 "Channel not found"
  when its snapshot is gone, 422 "Channel not in Stasis application" when it exists outside
  Stasis, which a hung-up channel is from its StasisEnd until it is destroyed a moment later;
* a channel found in Stasis that hangs up before its queued add runs is not added, and the
  reply is still 204 (the add command's failure is not reported).
"""

from __future__ import annotations

import asyncio

from tests.fidelity.conftest import Target
from tests.fidelity.test_ari_calls import inbound
from tests.fidelity.wire import AriWire, EventStream


async def test_add_channel_in_the_hangup_window_is_422_then_400(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    sim.world.destroy_delay = 2.0  # simulated seconds from StasisEnd to destruction
    cid, call = await inbound(sim, events)
    bid = (await ari.call("POST", "/bridges", {"type": "mixing"})).body["id"]
    m = events.mark()
    await call.hangup()  # type: ignore[attr-defined]
    await events.wait_type("StasisEnd", cid, m)
    r = await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": cid})
    assert (r.status, r.message) == (422, "Channel not in Stasis application")
    r = await ari.call("POST", "/bridges/nosuch/addChannel", {"channel": cid})
    assert (r.status, r.message) == (404, "Bridge not found")  # the bridge is looked up first
    await call.wait_ended(5)  # type: ignore[attr-defined]
    r = await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": cid})
    assert (r.status, r.message) == (400, "Channel not found")
    assert (await ari.call("GET", f"/bridges/{bid}")).body["channels"] == []


async def test_a_channel_that_hangs_up_before_its_add_runs_is_not_added_and_gets_204(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, call = await inbound(sim, events)
    bid = (await ari.call("POST", "/bridges", {"type": "mixing"})).body["id"]
    m = events.mark()
    # A playback holds the channel's command queue: the add waits behind it.
    await ari.call("POST", f"/channels/{cid}/play", {"media": "sound:demo-congrats"})
    await events.wait_type("PlaybackStarted", since=m)
    control = sim.channels[cid].control
    assert control is not None and control.pending == 0
    control.submitted.clear()
    add = asyncio.create_task(ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": cid}))
    await asyncio.wait_for(control.submitted.wait(), 5)  # the add is in the queue
    assert control.pending == 1 and not add.done(), "addChannel must wait behind the playback"
    await call.hangup()  # type: ignore[attr-defined]
    r = await asyncio.wait_for(add, 5)
    assert r.status == 204
    assert (await ari.call("GET", f"/bridges/{bid}")).body["channels"] == []
    assert "ChannelEnteredBridge" not in events.types(cid, m)


async def test_a_later_channel_not_in_stasis_fails_the_add_before_any_is_added(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    a, _ = await inbound(sim, events)
    sim.world.destroy_delay = 2.0
    b, other = await inbound(sim, events)
    bid = (await ari.call("POST", "/bridges", {"type": "mixing"})).body["id"]
    m = events.mark()
    await other.hangup()  # type: ignore[attr-defined]
    await events.wait_type("StasisEnd", b, m)
    r = await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": f"{a},{b}"})
    assert (r.status, r.message) == (422, "Channel not in Stasis application")
    assert (await ari.call("GET", f"/bridges/{bid}")).body["channels"] == []
