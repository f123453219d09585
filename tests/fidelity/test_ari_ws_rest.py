"""REST over the events WebSocket (Asterisk 22.4+, res/ari/ari_websocket_requests.c).

The same frames against the simulator or, with ``IVR_FIDELITY_ARI_URL``, a real Asterisk.
"""

from __future__ import annotations

import json

from tests.fidelity.conftest import Target
from tests.fidelity.test_ari_channels import snoop_channel
from tests.fidelity.wire import AriWire, EventStream


def req(rid: str, method: str, uri: str, **extra: object) -> dict[str, object]:
    """A RESTRequest frame."""
    return {"type": "RESTRequest", "request_id": rid, "method": method, "uri": uri, **extra}


async def test_get_answers_with_the_body_as_a_json_string(events: EventStream) -> None:
    resp = await events.request({**req("r1", "GET", "asterisk/info"), "transaction_id": "t1"})
    assert (resp["status_code"], resp["reason_phrase"]) == (200, "OK")
    assert (resp["request_id"], resp["transaction_id"], resp["uri"]) == (
        "r1",
        "t1",
        "asterisk/info",
    )
    assert resp["content_type"] == "application/json"
    assert isinstance(resp["message_body"], str)
    assert "system" in json.loads(resp["message_body"])
    assert resp["application"] == events.app and "timestamp" in resp and "asterisk_id" in resp


async def test_no_content_has_no_body_and_the_query_is_dropped_from_the_uri(
    events: EventStream, ari: AriWire, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    resp = await events.request(req("v1", "POST", f"channels/{sid}/variable?variable=V&value=1"))
    assert (resp["status_code"], resp["reason_phrase"]) == (204, "No Content")
    assert resp["uri"] == f"channels/{sid}/variable"
    assert "message_body" not in resp and "content_type" not in resp
    got = await events.request(
        req(
            "v2",
            "GET",
            f"channels/{sid}/variable",
            query_strings=[{"name": "variable", "value": "V"}],
        )
    )
    assert got["status_code"] == 200 and json.loads(got["message_body"]) == {"value": "1"}


async def test_json_body_and_errors_as_over_http(events: EventStream) -> None:
    body = json.dumps({"allowed": [], "disallowed": [{"type": "ChannelVarset"}]})
    ok = await events.request(
        req(
            "f1",
            "PUT",
            f"applications/{events.app}/eventFilter",
            content_type="application/json",
            message_body=body,
        )
    )
    assert ok["status_code"] == 200
    assert json.loads(ok["message_body"])["events_disallowed"] == [{"type": "ChannelVarset"}]
    missing = await events.request(req("e1", "GET", "channels/no-such-channel"))
    assert missing["status_code"] == 404
    assert json.loads(missing["message_body"]) == {"message": "Channel not found"}
    slash = await events.request(req("e2", "GET", "/asterisk/info"))
    assert slash["status_code"] == 405
    unknown = await events.request(req("e3", "GET", "no-such-resource"))
    assert unknown["status_code"] == 404


async def test_bad_frames_get_a_400_and_the_socket_stays(events: EventStream) -> None:
    since = events.mark()
    await events.send("{not json")
    parse = (await events.wait(lambda e: e["type"] == "RESTResponse", since))[1]
    assert (parse["status_code"], parse["reason_phrase"], parse["request_id"]) == (
        400,
        "Failed to parse request message JSON",
        "",
    )
    wrong = await events.request({"type": "Hello", "request_id": "b1"})
    assert wrong["status_code"] == 400
    assert json.loads(wrong["message_body"]) == {"message": "Unknown request type."}
    no_method = await events.request(
        {"type": "RESTRequest", "request_id": "b2", "uri": "asterisk/info"}
    )
    assert json.loads(no_method["message_body"]) == {
        "message": "Unknown or missing 'method' property."
    }
    odd = await events.request(
        req("b3", "GET", "asterisk/info", content_type="text/plain", message_body="x")
    )
    assert json.loads(odd["message_body"]) == {"message": "Unknown content type."}
    still = await events.request(req("b4", "GET", "asterisk/ping"))
    assert still["status_code"] == 200


async def test_an_allowed_list_without_restresponse_drops_the_replies(
    events: EventStream, ari: AriWire
) -> None:
    r = await ari.call(
        "PUT",
        f"/applications/{events.app}/eventFilter",
        json_body={"allowed": [{"type": "StasisStart"}], "disallowed": []},
    )
    assert r.status == 200
    since = events.mark()
    await events.send(json.dumps(req("d1", "GET", "asterisk/ping")))
    # The next request on the socket lifts the filter, so its own reply comes through; the
    # socket's requests run in order, so d1's reply would have come before it.
    lifted = await events.request(
        req(
            "d2",
            "PUT",
            f"applications/{events.app}/eventFilter",
            content_type="application/json",
            message_body=json.dumps({"allowed": [], "disallowed": []}),
        )
    )
    assert lifted["status_code"] == 200
    assert [e["request_id"] for _, e in events.events[since:] if e["type"] == "RESTResponse"] == [
        "d2"
    ]


async def test_requests_of_one_socket_run_one_at_a_time(
    events: EventStream, ari: AriWire, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    await ari.call(
        "POST", f"/channels/{sid}/play", {"media": "sound:hello-world", "playbackId": "ws-hold"}
    )
    await events.wait_type("PlaybackStarted", pb="ws-hold", since=m)
    await events.send(json.dumps(req("q1", "POST", f"channels/{sid}/answer")))
    await events.send(json.dumps(req("q2", "GET", "asterisk/ping")))
    ping = await events.wait(lambda e: e.get("request_id") == "q2", m)
    finished = await events.wait(
        lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == "ws-hold", m
    )
    answer = await events.wait(lambda e: e.get("request_id") == "q1", m)
    # The ping waited behind the answer, which waited behind the playback.
    assert answer[1]["status_code"] == 204
    assert ping[0] >= answer[0] >= finished[0] - 0.005
