"""ARI channel facts on a /channels/create leg (never dialled, so no SIP needed)."""

from __future__ import annotations

from tests.fidelity.conftest import Target
from tests.fidelity.wire import AriWire, EventStream


async def created_leg(
    ari: AriWire, events: EventStream, target: Target, args: str = "outbound,x"
) -> str:
    """Create a leg and wait until it is in the app."""
    m = events.mark()
    r = await ari.create(events.app, target.endpoint, args)
    assert r.status == 200
    await events.wait_type("StasisStart", r.body["id"], m)
    return str(r.body["id"])


async def test_create_replies_down_then_stasis_start_with_split_args(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    m = events.mark()
    r = await ari.create(events.app, target.endpoint, "outbound,abc")
    assert r.status == 200 and r.body["state"] == "Down"
    at, ss = await events.wait(lambda e: e["type"] == "StasisStart", m)
    assert at >= r.at - 0.05
    assert ss["channel"]["id"] == r.body["id"]
    assert ss["channel"]["state"] == "Down" and ss["args"] == ["outbound", "abc"]
    assert {"type", "timestamp", "application", "asterisk_id"} <= set(ss)


async def test_channel_object_shape(ari: AriWire, events: EventStream, target: Target) -> None:
    cid = await created_leg(ari, events, target)
    body = (await ari.call("GET", f"/channels/{cid}")).body
    assert {
        "id",
        "name",
        "state",
        "protocol_id",
        "caller",
        "connected",
        "accountcode",
        "dialplan",
        "creationtime",
        "language",
    } <= set(body)
    assert set(body["dialplan"]) >= {"context", "exten", "priority"}
    assert body["name"].startswith("PJSIP/")
    await ari.call("DELETE", f"/channels/{cid}")


async def test_media_and_state_operations_on_down_leg_are_412(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    cid = await created_leg(ari, events, target)
    for what, params in (
        ("play", {"media": "sound:beep"}),
        ("answer", None),
        ("ring", None),
        ("moh", None),
        ("dtmf", {"dtmf": "1"}),
        ("continue", None),
    ):
        r = await ari.call("POST", f"/channels/{cid}/{what}", params)
        assert (r.status, r.message) == (412, "Channel in invalid state"), what
    await ari.call("DELETE", f"/channels/{cid}")


async def test_variables(ari: AriWire, events: EventStream, target: Target) -> None:
    cid = await created_leg(ari, events, target)
    r = await ari.call("GET", f"/channels/{cid}/variable", {"variable": "FID_NOPE"})
    assert (r.status, r.message) == (404, "Provided variable was not found")
    m = events.mark()
    assert (
        await ari.call("POST", f"/channels/{cid}/variable", {"variable": "FID_X", "value": "42"})
    ).status == 204
    varset = await events.wait_type("ChannelVarset", cid, m)
    assert (varset["variable"], varset["value"]) == ("FID_X", "42")
    r = await ari.call("GET", f"/channels/{cid}/variable", {"variable": "FID_X"})
    assert r.status == 200 and r.body == {"value": "42"}
    await ari.call("DELETE", f"/channels/{cid}")


async def test_duplicate_channel_id_is_409(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    cid = await created_leg(ari, events, target)
    r = await ari.create(events.app, target.endpoint, channelId=cid)
    assert (r.status, r.message) == (409, "Channel with given unique ID already exists")
    await ari.call("DELETE", f"/channels/{cid}")


async def test_delete_gives_soft_32_then_stasis_end_then_destroyed_16(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    cid = await created_leg(ari, events, target)
    m = events.mark()
    assert (await ari.call("DELETE", f"/channels/{cid}")).status == 204
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    order = events.types(cid, m)
    first = events.of(cid, m)[0]
    assert first["type"] == "ChannelHangupRequest"
    assert (first["cause"], first["soft"]) == (32, True)
    assert order.index("StasisEnd") < order.index("ChannelDestroyed") == len(order) - 1
    assert (destroyed["cause"], destroyed["cause_txt"]) == (16, "Normal Clearing")
    r = await ari.call("DELETE", f"/channels/{cid}")
    assert (r.status, r.message) == (404, "Channel not found")


async def test_delete_reasons(ari: AriWire, events: EventStream, target: Target) -> None:
    cid = await created_leg(ari, events, target)
    r = await ari.call("DELETE", f"/channels/{cid}", {"reason": "nonsense"})
    assert (r.status, r.message) == (400, "Invalid reason for hangup provided")
    m = events.mark()
    assert (await ari.call("DELETE", f"/channels/{cid}", {"reason": "busy"})).status == 204
    destroyed = await events.wait_type("ChannelDestroyed", cid, m)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (17, "User busy")


async def test_bridge_add_and_remove_a_down_leg(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    cid = await created_leg(ari, events, target)
    bid = (await ari.call("POST", "/bridges", {"type": "mixing"})).body["id"]
    r = await ari.call("POST", f"/bridges/{bid}/removeChannel", {"channel": cid})
    assert (r.status, r.message) == (422, "Channel not in this bridge")
    m = events.mark()
    assert (await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": cid})).status == 204
    entered = await events.wait_type("ChannelEnteredBridge", cid, m)
    assert entered["bridge"]["id"] == bid and cid in entered["bridge"]["channels"]
    assert cid in (await ari.call("GET", f"/bridges/{bid}")).body["channels"]
    m = events.mark()
    assert (await ari.call("POST", f"/bridges/{bid}/removeChannel", {"channel": cid})).status == 204
    await events.wait_type("ChannelLeftBridge", cid, m)
    await ari.call("DELETE", f"/bridges/{bid}")
    await ari.call("DELETE", f"/channels/{cid}")


async def test_snoop_is_up_in_stasis_and_not_dialable(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    cid = await created_leg(ari, events, target)
    m = events.mark()
    r = await ari.call("POST", f"/channels/{cid}/snoop", {"spy": "in", "app": events.app})
    assert r.status == 200 and r.body["state"] == "Up"
    sid = r.body["id"]
    await events.wait_type("StasisStart", sid, m)
    r = await ari.call("POST", f"/channels/{sid}/dial")
    assert (r.status, r.message) == (409, "Channel is not in the 'Down' state")
    await ari.call("DELETE", f"/channels/{sid}")
    await ari.call("DELETE", f"/channels/{cid}")


async def snoop_channel(ari: AriWire, events: EventStream, target: Target) -> tuple[str, str]:
    """An Up channel in the app (a snoop on a created leg): (leg id, snoop id)."""
    cid = await created_leg(ari, events, target)
    m = events.mark()
    r = await ari.call("POST", f"/channels/{cid}/snoop", {"spy": "in", "app": events.app})
    await events.wait_type("StasisStart", r.body["id"], m)
    return cid, str(r.body["id"])
