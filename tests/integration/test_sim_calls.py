"""The simulator's scripted world and media timelines, in-process and via ``ivr-engine call``."""

from __future__ import annotations

import asyncio
import sys

from ivr_engine.sim import Behaviour, Simulator
from tests.fidelity.wire import AriWire, EventStream


async def connect(sim: Simulator, app: str) -> tuple[AriWire, EventStream]:
    """A raw ARI client with the app registered."""
    wire = AriWire(sim.ari_url, sim.config.ari_user, sim.config.ari_password)
    stream = EventStream(wire, app)
    await stream.connect()
    await sim.wait_app(app)
    return wire, stream


async def test_unregistered_app_falls_back_to_603(sim: Simulator) -> None:
    call = await sim.place_call(to="05051234567", caller="01020003000")
    await call.wait_ended(2)
    kinds = [e.kind for e in call.timeline]
    assert kinds == ["dial", "stasis_failed", "declined", "hangup"]
    assert call.timeline[-1].detail["cause"] == 21


async def test_fallback_dials_the_astdb_target(sim: Simulator) -> None:
    sim.astdb["ivr-fallback/05051234567"] = "01011112222"
    sim.set_behaviour("01011112222", Behaviour.answer_after(2.0, talk=3.0))
    call = await sim.place_call(to="05051234567", caller="01020003000")
    await call.wait_ended(3)
    (leg,) = call.callees()
    caller = {e.kind: e for e in call.timeline}
    callee = {e.kind: e for e in sim.timeline(leg)}
    assert caller["answered"].t_start >= 2.0
    assert callee["answered"].t_start <= caller["answered"].t_start
    assert caller["bridged"].peer == leg
    assert 2.9 <= caller["hangup"].t_start - caller["answered"].t_start <= 3.5


async def test_whisper_reaches_only_the_callee(sim: Simulator) -> None:
    wire, events = await connect(sim, "w")
    sim.set_behaviour("01033334444", Behaviour.answer_after(1.0))
    try:
        call = await sim.place_call(to="0505", caller="010", app="w")
        a = call.channel_id
        await events.wait_type("StasisStart", a)
        await wire.call(
            "POST", f"/channels/{a}/play", {"media": "tone:ring", "playbackId": "color"}
        )
        m = events.mark()
        b = (
            await wire.create("w", "PJSIP/01033334444@carrier", f"outbound,{a}", originator=a)
        ).body["id"]
        await events.wait_type("StasisStart", b, m)
        await wire.call("POST", f"/channels/{b}/dial", {"caller": a, "timeout": 10})
        await events.wait(lambda e: e["type"] == "Dial" and e["dialstatus"] == "ANSWER", m)
        await wire.call(
            "POST", f"/channels/{b}/play", {"media": "sound:beep", "playbackId": "whisper"}
        )
        await events.wait_type("PlaybackFinished", pb="whisper", since=m)
        await wire.call("DELETE", "/playbacks/color")
        await wire.call("POST", f"/channels/{a}/answer")
        bid = (await wire.call("POST", "/bridges")).body["id"]
        await wire.call("POST", f"/bridges/{bid}/addChannel", {"channel": f"{a},{b}"})
        heard_a = [(e.kind, e.media) for e in sim.timeline(a)]
        heard_b = [(e.kind, e.media) for e in sim.timeline(b)]
        assert ("play", "sound:beep") in heard_b and ("play", "sound:beep") not in heard_a
        color = next(e for e in sim.timeline(a) if e.media == "tone:ring")
        assert color.early_media and color.result == "interrupted"
        answered_a = next(e for e in sim.timeline(a) if e.kind == "answered")
        answered_b = next(e for e in sim.timeline(b) if e.kind == "answered")
        assert answered_b.t_start <= answered_a.t_start
        assert any(e.kind == "bridged" and e.peer == b for e in sim.timeline(a))
        await call.hangup()
        await call.wait_ended(2)
    finally:
        await events.close()
        await wire.close()


async def test_caller_dtmf_reaches_the_app(sim: Simulator) -> None:
    wire, events = await connect(sim, "d")
    try:
        call = await sim.place_call(
            to="0505", caller="010", app="d", dtmf=((1.0, "12"),), hangup_after=5.0
        )
        first = await events.wait_type("ChannelDtmfReceived", call.channel_id)
        m = events.mark()
        second = await events.wait_type("ChannelDtmfReceived", call.channel_id, m)
        assert (first["digit"], second["digit"]) == ("1", "2")
        await call.wait_ended(2)
        assert [e.media for e in call.timeline if e.kind == "dtmf_sent"] == ["1", "2"]
    finally:
        await events.close()
        await wire.close()


async def test_cli_call_shows_the_fallback(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = await sim_factory()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr_engine.cli",
        "call",
        "--to",
        "05051234567",
        "--from",
        "01020003000",
        "--sim-url",
        sim.control_url,
        "--timeout",
        "5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "stasis_failed" in text and "603 Decline" in text and "cause=21" in text
