"""Call facts observed on Asterisk 22.10.1 (section H) that need the scripted SIP world."""

from __future__ import annotations

from typing import Any

from ivr_engine.sim import Behaviour, Simulator
from tests.fidelity.conftest import Target
from tests.fidelity.wire import AriWire, EventStream

BUSY, NOANS, ANS = "01099990001", "01099990002", "01099990003"


def script(sim: Simulator) -> None:
    """The far ends used below."""
    sim.set_behaviour(BUSY, Behaviour.busy())
    sim.set_behaviour(NOANS, Behaviour.no_answer())
    sim.set_behaviour(ANS, Behaviour.answer_after(1.0, talk=2.0, dtmf=((0.5, "5"),)))


async def inbound(sim: Simulator, events: EventStream, **kw: object) -> tuple[str, object]:
    """Place an inbound call into the test app and wait for its StasisStart."""
    m = events.mark()
    call = await sim.place_call(to="05051234567", caller="01020003000", app=events.app, **kw)
    ss = await events.wait_type("StasisStart", call.channel_id, m)
    assert ss["channel"]["state"] == "Ring" and ss["args"] == ["inbound"]
    return call.channel_id, call


async def originate(ari: AriWire, events: EventStream, number: str, args: str) -> Any:
    """``POST /channels``: a leg to ``number`` on the trunk, into the test app."""
    return await ari.call(
        "POST",
        "/channels",
        {"endpoint": f"PJSIP/{number}@carrier", "app": events.app, "appArgs": args},
    )


async def test_inbound_play_is_early_media_and_state_stays_ring(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, _ = await inbound(sim, events)
    m = events.mark()
    assert (
        await ari.call(
            "POST", f"/channels/{cid}/play", {"media": "sound:beep", "playbackId": "in-pb"}
        )
    ).status == 201
    await events.wait_type("PlaybackFinished", pb="in-pb", since=m)
    assert (await ari.call("GET", f"/channels/{cid}")).body["state"] == "Ring"
    assert "ChannelStateChange" not in events.types(cid, m)
    play = [e for e in sim.timeline(cid) if e.kind == "play"]
    assert play and play[0].early_media and play[0].result == "complete"


async def test_inbound_delete_gives_no_destroyed(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, call = await inbound(sim, events)
    m = events.mark()
    assert (await ari.call("DELETE", f"/channels/{cid}")).status == 204
    await call.wait_ended(2)
    await events.wait_type("StasisEnd", cid, m)
    assert events.types(cid, m) == ["ChannelHangupRequest", "StasisEnd"]
    hr = events.of(cid, m)[0]
    assert (hr["cause"], hr["soft"]) == (32, True)


async def test_caller_bye_has_no_cause_keys(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, call = await inbound(sim, events)
    await ari.call("POST", f"/channels/{cid}/answer")
    m = events.mark()
    await call.hangup()
    await events.wait_type("StasisEnd", cid, m)
    hr = events.of(cid, m)[0]
    assert hr["type"] == "ChannelHangupRequest"
    assert not {"cause", "soft", "tech_cause"} & set(hr)
    assert events.types(cid, m) == ["ChannelHangupRequest", "StasisEnd"]


async def test_caller_cancel_during_early_media_fails_the_playback(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    cid, call = await inbound(sim, events)
    m = events.mark()
    await ari.call("POST", f"/channels/{cid}/play", {"media": "tone:ring", "playbackId": "c-pb"})
    await events.wait_type("PlaybackStarted", pb="c-pb", since=m)
    await call.hangup()
    await events.wait_type("StasisEnd", cid, m)
    hr = events.of(cid, m)[0]
    assert (hr["cause"], hr["tech_cause"]) == (127, 487) and "soft" not in hr
    assert events.playback_events("c-pb", m)[-1] == ("PlaybackFinished", "failed")


async def test_created_leg_busy_reports_causes_not_dial_busy(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    script(sim)
    m = events.mark()
    cid = (await ari.create(events.app, f"PJSIP/{BUSY}@carrier", "outbound")).body["id"]
    await events.wait_type("StasisStart", cid, m)
    assert (await ari.call("POST", f"/channels/{cid}/dial", {"timeout": 5})).status == 204
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    assert (destroyed["cause"], destroyed["cause_txt"], destroyed["tech_cause"]) == (
        17,
        "User busy",
        486,
    )
    assert events.types(cid, m) == [
        "ChannelDialplan",
        "StasisStart",
        "Dial",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    dials = [e for e in events.of(cid, m) if e["type"] == "Dial"]
    assert [d["dialstatus"] for d in dials] == [""] and "caller" not in dials[0]
    hr = next(e for e in events.of(cid, m) if e["type"] == "ChannelHangupRequest")
    assert (hr["cause"], hr["tech_cause"]) == (17, 486) and "soft" not in hr


async def test_created_leg_no_answer_dial_timeout(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    script(sim)
    m = events.mark()
    cid = (await ari.create(events.app, f"PJSIP/{NOANS}@carrier", "outbound")).body["id"]
    await events.wait_type("StasisStart", cid, m)
    await ari.call("POST", f"/channels/{cid}/dial", {"timeout": 2})
    await events.wait(
        lambda e: e["type"] == "ChannelStateChange" and e["channel"]["state"] == "Ringing", m
    )
    r = await ari.call("POST", f"/channels/{cid}/play", {"media": "sound:beep"})
    assert r.status == 412
    r = await ari.call("POST", f"/channels/{cid}/dial")
    assert (r.status, r.message) == (409, "Channel is not in the 'Down' state")
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    assert (destroyed["cause"], destroyed["tech_cause"]) == (19, 480)
    assert events.types(cid, m)[2:] == [
        "Dial",
        "ChannelStateChange",
        "Dial",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]


async def test_created_leg_answer_then_far_end_dtmf_and_hangup(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    script(sim)
    m = events.mark()
    cid = (await ari.create(events.app, f"PJSIP/{ANS}@carrier", "outbound")).body["id"]
    await events.wait_type("StasisStart", cid, m)
    await ari.call("POST", f"/channels/{cid}/dial", {"timeout": 10})
    dtmf = await events.wait_type("ChannelDtmfReceived", cid, m)
    assert (dtmf["digit"], dtmf["duration_ms"]) == ("5", 100)
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    dials = [e["dialstatus"] for e in events.of(cid, m) if e["type"] == "Dial"]
    assert dials == ["", "RINGING", "ANSWER"]
    states = [e["channel"]["state"] for e in events.of(cid, m) if e["type"] == "ChannelStateChange"]
    assert states == ["Ringing", "Up"]
    # The far end's BYE: no cause keys on the request (observed on 22.10.1, as for a
    # caller's BYE); the Q.850 cause comes with ChannelDestroyed.
    hr = next(e for e in events.of(cid, m) if e["type"] == "ChannelHangupRequest")
    assert not {"cause", "soft", "tech_cause"} & set(hr)
    assert destroyed["cause"] == 16


async def test_dial_before_stasis_start_is_409(
    ari: AriWire, events: EventStream, target: Target, sim_factory
) -> None:  # type: ignore[no-untyped-def]
    target.need_sim()
    sim = await sim_factory(stasis_start_delay=2.0)
    wire = AriWire(sim.ari_url, sim.config.ari_user, sim.config.ari_password)
    stream = EventStream(wire, "race")
    await stream.connect()
    try:
        cid = (await wire.create("race", "PJSIP/0101@carrier")).body["id"]
        r = await wire.call("POST", f"/channels/{cid}/dial")
        assert (r.status, r.message) == (409, "Channel not in Stasis application")
        await stream.wait_type("StasisStart", cid)
        assert (await wire.call("POST", f"/channels/{cid}/dial")).status == 204
    finally:
        await stream.close()
        await wire.close()


async def test_originate_enters_stasis_only_when_answered(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    script(sim)
    m = events.mark()
    r = await originate(ari, events, ANS, "originated,e1")
    assert r.status == 200 and r.body["state"] == "Down"
    cid = r.body["id"]
    ss = await events.wait_type("StasisStart", cid, m)
    assert ss["channel"]["state"] == "Up" and ss["args"] == ["originated", "e1"]
    assert events.types(cid, m)[:6] == [
        "Dial",
        "ChannelStateChange",
        "Dial",
        "ChannelStateChange",
        "Dial",
        "StasisStart",
    ]
    await ari.call("DELETE", f"/channels/{cid}")


async def test_originated_leg_far_end_bye_after_talking(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    """An originated target that answers, talks and hangs up (as a forwarded call's callee
    does): observed on Asterisk 22.10.1 with SIPp as the target, ChannelHangupRequest with
    no cause keys, StasisEnd, then ChannelDestroyed with cause 16."""
    sim = target.need_sim()
    script(sim)
    m = events.mark()
    r = await originate(ari, events, ANS, "outbound,e2")
    cid = r.body["id"]
    await events.wait_type("StasisStart", cid, m)
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    ends = [e for e in events.of(cid, m) if e["type"] != "ChannelDtmfReceived"]
    assert [e["type"] for e in ends[-3:]] == [
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert not {"cause", "soft", "tech_cause"} & set(ends[-3])
    assert (destroyed["cause"], destroyed["cause_txt"]) == (16, "Normal Clearing")


async def test_originate_timeout_and_busy(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    script(sim)
    m = events.mark()
    cid = (
        await ari.call(
            "POST",
            "/channels",
            {"endpoint": f"PJSIP/{NOANS}@carrier", "app": events.app, "timeout": 1},
        )
    ).body["id"]
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    assert (destroyed["cause"], destroyed["tech_cause"]) == (19, 480)
    assert events.types(cid, m) == ["Dial", "ChannelStateChange", "Dial", "ChannelDestroyed"]
    m = events.mark()
    cid = (
        await ari.call(
            "POST", "/channels", {"endpoint": f"PJSIP/{BUSY}@carrier", "app": events.app}
        )
    ).body["id"]
    await events.wait_type("ChannelDestroyed", cid, m)
    assert events.types(cid, m) == ["Dial", "ChannelHangupRequest", "Dial", "ChannelDestroyed"]
    assert [e["dialstatus"] for e in events.of(cid, m) if e["type"] == "Dial"] == ["", "BUSY"]


async def test_early_bridging_answers_the_caller_and_hangup_orders(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    sim = target.need_sim()
    sim.set_behaviour(ANS, Behaviour.answer_after(1.0))
    a, _ = await inbound(sim, events)
    bid = (await ari.call("POST", "/bridges", {"type": "mixing"})).body["id"]
    m = events.mark()
    b = (await ari.create(events.app, f"PJSIP/{ANS}@carrier", f"outbound,{a}", originator=a)).body[
        "id"
    ]
    await events.wait_type("StasisStart", b, m)
    await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": f"{a},{b}"})
    await ari.call("POST", f"/channels/{b}/dial", {"caller": a, "timeout": 10})
    await events.wait(
        lambda e: (
            e["type"] == "ChannelStateChange"
            and e["channel"]["id"] == a
            and e["channel"]["state"] == "Up"
        ),
        m,
    )
    assert [e.kind for e in sim.timeline(a)].count("answered") == 1
    m = events.mark()
    await ari.call("DELETE", f"/channels/{a}")
    await events.wait_type("ChannelDestroyed", a, m)
    assert events.types(a, m) == [
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelHangupRequest",
        "ChannelDestroyed",
    ]
    second = events.of(a, m)[3]
    assert (second["cause"], second["soft"]) == (16, True)
    m = events.mark()
    await ari.call("DELETE", f"/channels/{b}")
    await events.wait_type("ChannelDestroyed", b, m)
    assert events.types(b, m) == [
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelDestroyed",
    ]


async def test_event_filter_outlives_the_websocket(ari: AriWire, target: Target) -> None:
    sim = target.need_sim()
    first = EventStream(ari, "filtered")
    await first.connect()
    r = await ari.call(
        "PUT",
        "/applications/filtered/eventFilter",
        json_body={"allowed": [{"type": "StasisStart"}], "disallowed": []},
    )
    assert r.status == 200 and r.body["events_allowed"] == [{"type": "StasisStart"}]
    await first.close()
    again = EventStream(ari, "filtered")
    await again.connect()
    try:
        call = await sim.place_call(to="0505", caller="010", app="filtered")
        await again.wait_type("StasisStart", call.channel_id)
        await ari.call("DELETE", f"/channels/{call.channel_id}")
        await call.wait_ended(2)
        await ari.call("GET", "/asterisk/ping")
        assert {e["type"] for _, e in again.events} == {"StasisStart"}
    finally:
        await again.close()
