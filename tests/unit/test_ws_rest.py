"""WsRest bookkeeping (replies matched by request id, a lost socket fails what is pending)
and the request encoding shared by HTTP and the WebSocket."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlencode

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr_engine.asterisk.ari.http import query, query_string, seg
from ivr_engine.asterisk.ari.ws_rest import WsRest, WsRestClosed, WsRestNotSent, WsRestState


def unmask(data: bytes) -> list[bytes]:
    """The payloads of the masked client text frames in ``data`` (RFC 6455 5.2)."""
    out = []
    while data:
        assert data[0] == 0x81 and data[1] & 0x80, "a masked final text frame"
        n, at = data[1] & 0x7F, 2
        if n == 126:
            n, at = int.from_bytes(data[2:4], "big"), 4
        elif n == 127:
            n, at = int.from_bytes(data[2:10], "big"), 10
        mask, body = data[at : at + 4], data[at + 4 : at + 4 + n]
        out.append(bytes(b ^ mask[i % 4] for i, b in enumerate(body)))
        data = data[at + 4 + n :]
    return out


async def test_replies_are_matched_by_id_and_a_lost_socket_fails_the_rest() -> None:
    writes: list[bytes] = []
    written = asyncio.Event()

    def write(data: bytes) -> None:
        writes.append(data)
        written.set()

    rest = WsRest(enabled=False)  # no probe: state set by hand below
    rest.attach(write)
    rest.state = WsRestState.AVAILABLE
    first = asyncio.ensure_future(rest.send("GET", "channels", None, timeout=5))
    big = {"type": "mixing", "name": "x" * 70_000}
    second = asyncio.ensure_future(rest.send("POST", "bridges", big, timeout=5))
    await written.wait()
    assert len(writes) == 1, "the frames of one loop turn leave in one write"
    frames = [orjson.loads(p) for p in unmask(writes[0])]
    assert [f["uri"] for f in frames] == ["channels", "bridges"]
    assert frames[1]["content_type"] == "application/json"
    assert orjson.loads(str(frames[1]["message_body"])) == big
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


async def test_a_failed_write_means_not_sent() -> None:
    def broken(data: bytes) -> None:
        raise ConnectionResetError("gone")

    rest = WsRest(enabled=False)
    rest.attach(broken)
    with pytest.raises(WsRestNotSent):
        await rest.send("GET", "asterisk/ping", None, timeout=5)
    rest.detach()


async def test_a_request_without_reply_times_out() -> None:
    rest = WsRest(enabled=False)
    rest.attach(lambda data: None)
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


@given(st.text())
def test_a_path_segment_is_quoted_as_quote_does(value: str) -> None:
    assert seg(value) == quote(value, safe="")


async def test_a_request_queued_when_the_socket_goes_was_never_sent() -> None:
    writes: list[bytes] = []
    rest = WsRest(enabled=False)
    rest.attach(writes.append)
    queued = asyncio.ensure_future(rest.send("GET", "channels", None, timeout=5))
    await asyncio.sleep(0)  # the request is queued for this turn's write, not written yet
    rest.detach()
    with pytest.raises(WsRestNotSent):  # so the client sends it over HTTP instead
        await queued
    assert writes == []


async def test_a_refused_probe_means_http() -> None:
    frames: list[dict[str, object]] = []
    written = asyncio.Event()

    def write(data: bytes) -> None:
        frames.extend(orjson.loads(p) for p in unmask(data))
        written.set()

    rest = WsRest()
    rest.attach(write)  # probes at once
    await written.wait()
    assert frames[0]["uri"] == "asterisk/info"
    rest.resolve({"request_id": frames[0]["request_id"], "status_code": 401, "reason_phrase": "x"})
    assert await rest.settled() is WsRestState.UNSUPPORTED
    assert not rest.carries("channels.play")
    rest.detach()
