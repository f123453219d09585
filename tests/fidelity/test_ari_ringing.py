"""``POST`` / ``DELETE /channels/{id}/ring`` as Asterisk 22 carries them out
(``res/stasis/control.c``, ``main/channel.c``, ``channels/chan_pjsip.c``), seen on the
simulator's media timeline:

* both are queued on the channel's command queue (a playback holds them back);
* on a channel in ``Ring`` that sent nothing yet, chan_pjsip sends 180 and the phone rings by
  itself; once early media went out, or on an ``Up`` channel, it declines and the core plays
  the ringback tone in band, which goes on until ``DELETE /ring``, an answer (ast_raw_answer
  ends with ast_indicate(-1), also on a channel already Up), a playback or MOH: joining a
  bridge does not stop it.
"""

from __future__ import annotations

from typing import Any

from tests.fidelity.conftest import Target
from tests.fidelity.test_ari_calls import inbound
from tests.fidelity.wire import AriWire, EventStream


def ringback(target: Target, cid: str) -> list[Any]:
    assert target.sim is not None
    return [e for e in target.sim.timeline(cid) if e.kind == "ringback"]


async def stopped(ari: AriWire, cid: str) -> None:
    """DELETE /ring, then a synchronous request behind it so it has run."""
    assert (await ari.call("DELETE", f"/channels/{cid}/ring")).status == 204
    assert (
        await ari.call("POST", f"/channels/{cid}/variable", {"variable": "X", "value": "1"})
    ).status == 204


async def test_ring_before_any_media_is_a_180_and_ring_stop_ends_it(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    target.need_sim()
    cid, _ = await inbound(target.sim, events)  # type: ignore[arg-type]
    assert (await ari.call("POST", f"/channels/{cid}/ring")).status == 204
    await stopped(ari, cid)
    (ring,) = ringback(target, cid)
    assert ring.early_media and not ring.detail.get("inband")
    assert ring.t_end is not None and ring.detail["ended_by"] == "ring stop"


async def test_ring_after_early_media_is_in_band_and_queued_behind_the_playback(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, _ = await inbound(sim, events)
    m = events.mark()
    await ari.call("POST", f"/channels/{cid}/play", {"media": "sound:beep", "playbackId": "b1"})
    assert (await ari.call("POST", f"/channels/{cid}/ring")).status == 204  # while it plays
    await events.wait_type("PlaybackFinished", pb="b1", since=m)
    await stopped(ari, cid)
    (play,) = [e for e in sim.timeline(cid) if e.kind == "play"]
    (ring,) = ringback(target, cid)
    assert ring.detail.get("inband") and ring.early_media
    assert play.t_end is not None and ring.t_start >= play.t_end


async def test_ring_on_an_answered_channel_rings_in_band_until_an_answer_or_a_playback(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, _ = await inbound(sim, events)
    assert (await ari.call("POST", f"/channels/{cid}/answer")).status == 204
    assert (await ari.call("POST", f"/channels/{cid}/ring")).status == 204
    assert (await ari.call("POST", f"/channels/{cid}/answer")).status == 204  # already Up
    m = events.mark()
    assert (await ari.call("POST", f"/channels/{cid}/ring")).status == 204
    await ari.call("POST", f"/channels/{cid}/play", {"media": "sound:beep", "playbackId": "b2"})
    await events.wait_type("PlaybackFinished", pb="b2", since=m)
    first, second = ringback(target, cid)
    assert first.detail.get("inband") and not first.early_media
    assert (first.detail["ended_by"], second.detail["ended_by"]) == ("answer", "playback")


async def test_in_band_ringing_goes_on_in_a_bridge_until_it_is_stopped(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    a, _ = await inbound(sim, events)
    b, _ = await inbound(sim, events)
    for cid in (a, b):
        assert (await ari.call("POST", f"/channels/{cid}/answer")).status == 204
    assert (await ari.call("POST", f"/channels/{a}/ring")).status == 204
    bid = (await ari.call("POST", "/bridges", {"type": "mixing"})).body["id"]
    assert (
        await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": f"{a},{b}"})
    ).status == 204
    (ring,) = ringback(target, a)
    (bridged,) = [e for e in sim.timeline(a) if e.kind == "bridged"]
    assert ring.t_end is None and bridged.t_start >= ring.t_start  # heard over the bridge
    await stopped(ari, a)
    assert ring.t_end is not None and ring.detail["ended_by"] == "ring stop"
