"""ARI wire facts that need no SIP: auth, URLs, status codes, object shapes (sections A and H)."""

from __future__ import annotations

import base64
import os
import re

from tests.fidelity.conftest import Target
from tests.fidelity.wire import AriWire, EventStream, basic

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
WS_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
}


async def test_wrong_password_is_401_with_basic_challenge(ari: AriWire) -> None:
    r = await ari.call("GET", "/asterisk/info", auth=basic(ari.user, ari.password + "x"))
    assert r.status == 401
    assert r.text == '{"message":"Authentication required"}'
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Asterisk REST Interface"'


async def test_no_credentials_and_unknown_user_are_401(ari: AriWire) -> None:
    assert (await ari.call("GET", "/asterisk/ping", auth=None)).status == 401
    assert (await ari.call("GET", "/asterisk/ping", auth=basic("nobody", "x"))).status == 401


async def test_api_key_query_parameter_authenticates(ari: AriWire) -> None:
    r = await ari.call(
        "GET", "/asterisk/ping", {"api_key": f"{ari.user}:{ari.password}"}, auth=None
    )
    assert r.status == 200 and r.body["ping"] == "pong"


async def test_trailing_slash_is_404_with_asterisks_hint(ari: AriWire) -> None:
    r = await ari.call("GET", "/channels/")
    assert r.status == 404
    assert r.message == "ARI URLs do not end with a slash. Try /ari/channels"


async def test_events_plain_get_is_426(ari: AriWire) -> None:
    r = await ari.call("GET", "/events", {"app": "x"}, fresh=True)
    assert r.status == 426


async def test_events_upgrade_without_app_is_400_html(ari: AriWire) -> None:
    r = await ari.call("GET", "/events", headers=WS_HEADERS, fresh=True)
    assert r.status == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert "HTTP request is missing param: [app]" in r.text


async def test_events_upgrade_with_wrong_password_is_401(ari: AriWire) -> None:
    r = await ari.call(
        "GET", "/events", {"app": "x"}, auth=basic(ari.user, "bad"), headers=WS_HEADERS, fresh=True
    )
    assert r.status == 401 and r.body == {"message": "Authentication required"}


async def test_asterisk_info_sections_and_only(ari: AriWire) -> None:
    r = await ari.call("GET", "/asterisk/info")
    assert r.status == 200
    assert {"os", "kernel", "options", "machine", "date", "user"} <= set(r.body["build"])
    assert {"version", "entity_id"} <= set(r.body["system"])
    assert {"name", "default_language"} <= set(r.body["config"])
    assert {"startup_time", "last_reload_time"} <= set(r.body["status"])
    only = await ari.call("GET", "/asterisk/info", {"only": "system"})
    assert set(only.body) == {"system"}


async def test_ping_shape_and_timestamp_format(ari: AriWire) -> None:
    r = await ari.call("GET", "/asterisk/ping")
    assert r.body["ping"] == "pong" and r.body["asterisk_id"]
    assert TIMESTAMP.match(r.body["timestamp"])


async def test_unknown_ids_are_404(ari: AriWire) -> None:
    for method, path in (
        ("GET", "/channels/nosuch"),
        ("POST", "/channels/nosuch/answer"),
        ("POST", "/channels/nosuch/dial"),
        ("DELETE", "/channels/nosuch"),
    ):
        r = await ari.call(method, path)
        assert (r.status, r.message) == (404, "Channel not found"), (method, path)
    r = await ari.call("POST", "/channels/nosuch/play", {"media": "sound:beep"})
    assert r.status == 404
    r = await ari.call("GET", "/channels/nosuch/variable", {"variable": "X"})
    assert (r.status, r.message) == (404, "Provided channel was not found")
    for method in ("GET", "DELETE"):
        r = await ari.call(method, "/playbacks/nosuch")
        assert (r.status, r.message) == (404, "Playback not found")
    r = await ari.call("GET", "/bridges/nosuch")
    assert (r.status, r.message) == (404, "Bridge not found")


async def test_originate_needs_app_or_extension(ari: AriWire, target: Target) -> None:
    r = await ari.call("POST", "/channels", {"endpoint": target.endpoint})
    assert (r.status, r.message) == (400, "Application or extension must be specified")


async def test_create_needs_endpoint(ari: AriWire, events: EventStream) -> None:
    r = await ari.call("POST", "/channels/create", {"app": events.app})
    assert (r.status, r.message) == (400, "Endpoint must be specified")


async def test_application_object_and_unknown_app(ari: AriWire, events: EventStream) -> None:
    r = await ari.call("GET", f"/applications/{events.app}")
    assert r.status == 200 and r.body["name"] == events.app
    assert {"channel_ids", "bridge_ids", "endpoint_ids", "device_names"} <= set(r.body)
    r = await ari.call("GET", f"/applications/{events.app}-nosuch")
    assert (r.status, r.message) == (404, "Application not found")


async def test_bridge_create_and_duplicate_id(ari: AriWire) -> None:
    r = await ari.call("POST", "/bridges", {"type": "mixing", "name": "fid"})
    b = r.body
    assert r.status == 200
    assert (b["bridge_type"], b["bridge_class"], b["creator"], b["channels"]) == (
        "mixing",
        "stasis",
        "Stasis",
        [],
    )
    assert TIMESTAMP.match(b["creationtime"])
    dup = await ari.call("POST", "/bridges", {"type": "mixing", "bridgeId": b["id"]})
    assert dup.status == 409 and dup.message == f"Bridge with id '{b['id']}' already exists"
    assert (await ari.call("DELETE", f"/bridges/{b['id']}")).status == 204
    assert (await ari.call("DELETE", f"/bridges/{b['id']}")).status == 404


async def test_add_channel_errors(ari: AriWire) -> None:
    bid = (await ari.call("POST", "/bridges")).body["id"]
    r = await ari.call("POST", f"/bridges/{bid}/addChannel")
    assert (r.status, r.message) == (400, "Missing parameter channel")
    r = await ari.call("POST", f"/bridges/{bid}/addChannel", {"channel": "nosuch"})
    assert (r.status, r.message) == (400, "Channel not found")
    r = await ari.call("POST", f"/bridges/{bid}/removeChannel", {"channel": "nosuch"})
    assert (r.status, r.message) == (400, "Channel not found")
    r = await ari.call("POST", "/bridges/nosuch/addChannel", {"channel": "x"})
    assert r.status in (400, 404)
    await ari.call("DELETE", f"/bridges/{bid}")
