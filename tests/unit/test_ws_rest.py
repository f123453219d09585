"""WsRest bookkeeping (replies matched by request id, a lost socket fails what is pending)
and the request encoding shared by HTTP and the WebSocket."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlencode

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr_engine.asterisk.ari.http import query, query_string
from ivr_engine.asterisk.ari.ws_rest import WsRest, WsRestClosed, WsRestNotSent, WsRestState


async def test_replies_are_matched_by_id_and_a_lost_socket_fails_the_rest() -> None:
    frames: list[dict[str, object]] = []
    two_sent = asyncio.Event()

    async def send(frame: bytes) -> None:
        frames.append(orjson.loads(frame))
        if len(frames) == 2:
            two_sent.set()

    rest = WsRest(enabled=False)  # no probe: state set by hand below
    rest.attach(send)
    rest.state = WsRestState.AVAILABLE
    first = asyncio.ensure_future(rest.send("GET", "channels", None, timeout=5))
    second = asyncio.ensure_future(rest.send("POST", "bridges", {"type": "mixing"}, timeout=5))
    await two_sent.wait()
    assert frames[1]["content_type"] == "application/json"
    assert orjson.loads(str(frames[1]["message_body"])) == {"type": "mixing"}
    rest.resolve({"request_id": frames[1]["request_id"], "status_code": 200, "message_body": "{}"})
    reply = await second
    assert (reply.status, reply.body) == (200, "{}")
    rest.resolve({"request_id": "nobody", "status_code": 204})
    assert rest.unmatched == 1
    rest.detach()
    with pytest.raises(WsRestClosed):
        await first
    with pytest.raises(WsRestNotSent):
        await rest.send("GET", "channels", None, timeout=5)


async def test_a_request_without_reply_times_out() -> None:
    async def send(frame: bytes) -> None:
        return None

    rest = WsRest(enabled=False)
    rest.attach(send)
    rest.sweep_interval = 0.01
    with pytest.raises(TimeoutError):
        await rest.send("GET", "asterisk/ping", None, timeout=0.02)
    assert rest._pending == {} and rest._deadlines == {}
    rest.detach()


@given(
    st.dictionaries(
        st.sampled_from(["media", "endpoint", "channel", "appArgs"]),
        st.one_of(st.text(), st.booleans(), st.integers(), st.none(), st.lists(st.text())),
    )
)
def test_the_query_string_is_what_urlencode_gives(params: dict[str, object]) -> None:
    assert query_string(params) == urlencode(query(params), quote_via=quote)  # type: ignore[arg-type]
