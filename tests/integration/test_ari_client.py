"""The ARI REST client over real sockets.

Two servers: ``Recorder`` (a few lines of aiohttp that records each request and answers from
a script) checks the exact HTTP each typed call sends and how replies and errors map; the
Asterisk simulator checks typed calls against its real 404/409/412/422 rules.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from ivr_engine.asterisk.ari import (
    AriAuthError,
    AriBadRequest,
    AriClient,
    AriConflict,
    AriConnectionError,
    AriInvalidState,
    AriNotFound,
    AriServerError,
    AriUnprocessable,
    Bridge,
    Channel,
    EventStream,
    Playback,
    RequestStat,
)
from ivr_engine.asterisk.ari import events as ev
from ivr_engine.sim import Simulator
from tests.fixtures.sim import SimFactory

USER, PASSWORD = "ivr", "ivr-secret"
CHANNEL = {
    "id": "c1",
    "name": "PJSIP/carrier-1",
    "state": "Down",
    "caller": {"name": "", "number": "01020003000"},
    "creationtime": "2025-03-01T14:05:09.123+0900",
    "dialplan": {"context": "x", "exten": "s", "priority": 1},
}


class Recorder:
    """Records requests; replies with ``script[(method, path)]`` or 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.script: dict[tuple[str, str], tuple[int, Any]] = {}
        self.hold: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        path = request.path.removeprefix("/ari")
        self.requests.append((request.method, path, dict(request.query), body))
        if request.headers.get("Authorization") != "Basic aXZyOml2ci1zZWNyZXQ=":
            return web.json_response({"message": "Authentication required"}, status=401)
        if self.hold is not None:
            await self.hold.wait()
        status, payload = self.script.get((request.method, path), (204, None))
        if payload is None:
            return web.Response(status=status)
        if isinstance(payload, str):
            return web.Response(status=status, text=payload, content_type="text/html")
        return web.json_response(payload, status=status)


@pytest.fixture
async def rec() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield recorder, f"http://127.0.0.1:{port}/ari"
    if recorder.hold is not None:
        recorder.hold.set()
    await runner.cleanup()


async def test_typed_calls_send_the_documented_requests(rec: tuple[Recorder, str]) -> None:
    recorder, base = rec
    recorder.script = {
        ("POST", "/channels/create"): (200, CHANNEL),
        ("POST", "/channels/c1/play/pb-1"): (
            201,
            {"id": "pb-1", "media_uri": "sound:a", "target_uri": "channel:c1", "state": "queued"},
        ),
        ("POST", "/bridges"): (200, {"id": "b1", "bridge_type": "mixing", "channels": []}),
        ("GET", "/channels/c1/variable"): (200, {"value": "42"}),
    }
    async with AriClient(base, USER, PASSWORD) as client:
        leg = await client.create_channel(
            "PJSIP/01011112222@carrier",
            "ivr-engine",
            app_args=["outbound", "a1"],
            originator="a1",
            variables={"CALLERID(num)": "0505"},
        )
        await client.dial("c1", caller="a1", dial_timeout=30)
        pb = await client.play("c1", ["sound:a", "sound:b"], playback_id="pb-1", lang="ko")
        bridge = await client.create_bridge()
        await client.add_channel("b1", ["a1", "c1"])
        await client.hangup("c1", reason="busy")
        value = await client.get_variable("c1", "X")
        await client.set_event_filter("ivr-engine", ["StasisStart", "Dial"])
    assert isinstance(leg, Channel) and leg.state == "Down" and leg.caller.number == "01020003000"
    assert leg.creationtime is not None and leg.creationtime.utcoffset() is not None
    assert isinstance(pb, Playback) and pb.channel_id == "c1" and pb.state == "queued"
    assert isinstance(bridge, Bridge) and bridge.id == "b1"
    assert value == "42"
    sent = [(m, p, q) for m, p, q, _ in recorder.requests]
    assert sent[0] == (
        "POST",
        "/channels/create",
        {
            "endpoint": "PJSIP/01011112222@carrier",
            "app": "ivr-engine",
            "appArgs": "outbound,a1",
            "originator": "a1",
        },
    )
    assert recorder.requests[0][3] == {"variables": {"CALLERID(num)": "0505"}}
    assert sent[1] == ("POST", "/channels/c1/dial", {"caller": "a1", "timeout": "30"})
    assert sent[2] == ("POST", "/channels/c1/play/pb-1", {"media": "sound:a,sound:b", "lang": "ko"})
    assert sent[3] == ("POST", "/bridges", {"type": "mixing"})
    assert sent[4] == ("POST", "/bridges/b1/addChannel", {"channel": "a1,c1"})
    assert sent[5] == ("DELETE", "/channels/c1", {"reason": "busy"})
    assert sent[6] == ("GET", "/channels/c1/variable", {"variable": "X"})
    assert sent[7][:2] == ("PUT", "/applications/ivr-engine/eventFilter")
    assert recorder.requests[7][3] == {
        "allowed": [{"type": "StasisStart"}, {"type": "Dial"}],
        "disallowed": [],
    }


async def test_errors_map_by_status_and_benign_races_pass(rec: tuple[Recorder, str]) -> None:
    recorder, base = rec
    recorder.script = {
        ("DELETE", "/playbacks/gone"): (404, {"message": "Playback not found"}),
        ("DELETE", "/channels/gone"): (404, {"message": "Channel not found"}),
        ("POST", "/channels/c1/answer"): (412, {"message": "Channel in invalid state"}),
        ("POST", "/channels/c1/dial"): (409, {"message": "Channel is not in the 'Down' state"}),
        ("GET", "/channels/c1/variable"): (404, {"message": "Provided variable was not found"}),
        ("POST", "/channels/create"): (500, {"message": "Allocation failed"}),
        ("GET", "/asterisk/ping"): (503, "<html>not booted</html>"),
    }
    async with AriClient(base, USER, PASSWORD) as client:
        assert await client.stop_playback("gone", missing_ok=True) is False
        assert await client.hangup("gone", missing_ok=True) is False
        with pytest.raises(AriNotFound) as nf:
            await client.stop_playback("gone")
        assert (nf.value.status, nf.value.message, nf.value.method, nf.value.path) == (
            404,
            "Playback not found",
            "DELETE",
            "/playbacks/gone",
        )
        with pytest.raises(AriInvalidState, match="invalid state"):
            await client.answer("c1")
        with pytest.raises(AriConflict, match="'Down' state"):
            await client.dial("c1")
        assert await client.get_variable("c1", "NOPE") is None
        with pytest.raises(AriServerError, match="Allocation failed"):
            await client.create_channel("PJSIP/x@nowhere", "ivr-engine")
        with pytest.raises(AriServerError, match="not booted"):
            await client.ping()
    async with AriClient(base, USER, "wrong") as client:
        with pytest.raises(AriAuthError, match="Authentication required"):
            await client.ping()


async def test_observer_sees_latency_and_outcome(rec: tuple[Recorder, str]) -> None:
    recorder, base = rec
    recorder.script = {
        ("GET", "/asterisk/ping"): (200, {"asterisk_id": "a", "ping": "pong"}),
        ("GET", "/channels/x"): (404, {"message": "Channel not found"}),
    }
    stats: list[RequestStat] = []
    async with AriClient(base, USER, PASSWORD, observer=stats.append) as client:
        assert (await client.ping()).ping == "pong"
        with pytest.raises(AriNotFound):
            await client.get_channel("x")
    assert [(s.operation, s.status, s.error) for s in stats] == [
        ("asterisk.ping", 200, None),
        ("channels.get", 404, "AriNotFound"),
    ]
    assert all(s.seconds > 0 for s in stats)


async def test_transport_failures_are_connection_errors(rec: tuple[Recorder, str]) -> None:
    recorder, base = rec
    recorder.hold = asyncio.Event()  # the server never answers
    async with AriClient(base, USER, PASSWORD, timeout=0.2) as client:
        with pytest.raises(AriConnectionError) as exc:
            await client.answer("c1")
        assert exc.value.status == 0 and exc.value.path == "/channels/c1/answer"
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with AriClient(f"http://127.0.0.1:{port}/ari", USER, PASSWORD) as client:
        with pytest.raises(AriConnectionError):
            await client.ping()


def test_recorded_channel_json_round_trips() -> None:
    ch = Channel.from_json(json.loads(json.dumps(CHANNEL)))
    assert ch.dialplan.priority == 1 and ch.language == ""


# -- against the Asterisk simulator (its real 404/409/412/422 rules) ---------------------------
@pytest.fixture
async def live_sim(sim_factory: SimFactory) -> Simulator:
    """The simulator's ARI alone (no AMI listener)."""
    return await sim_factory(ami_enabled=False)


async def test_typed_calls_and_error_rules_against_the_simulator(live_sim: Simulator) -> None:
    base = live_sim.ari_url
    stream = EventStream(base, USER, PASSWORD, "ivr-engine")
    await stream.start()
    async with AriClient(base, USER, PASSWORD) as client:
        try:
            await stream.wait_connected(5)
            assert (await client.ping()).ping == "pong"
            assert (await client.info()).version
            with stream.expect(ev.StasisStart) as inbound:
                await live_sim.place_call(
                    to="05051234567", caller="01020003000", app_args=("inbound",)
                )
                start = await inbound.wait(timeout=5)
            a = start.channel
            assert a.state == "Ring" and start.args == ("inbound",)
            assert (await client.get_channel(a.id)).id == a.id
            with pytest.raises(AriNotFound):
                await client.get_channel("no-such-channel")
            assert await client.get_variable(a.id, "NO_SUCH_VAR") is None
            await client.set_variable(a.id, "IVR_TEST", "1")
            assert await client.get_variable(a.id, "IVR_TEST") == "1"
            long_value = "통화" * 10_000  # longer than any request line: sent in the body
            await client.set_variable(a.id, "IVR_LONG", long_value)
            assert await client.get_variable(a.id, "IVR_LONG") == long_value
            with stream.expect(ev.StasisStart, channel_id="leg-b") as outbound:
                leg = await client.create_channel(
                    "PJSIP/01011112222@carrier",
                    "ivr-engine",
                    app_args=["outbound"],
                    channel_id="leg-b",
                )
                await outbound.wait(timeout=5)
            assert leg.state == "Down"
            with pytest.raises(AriInvalidState):
                await client.play(leg.id, "sound:hello-world")
            await client.dial(leg.id, dial_timeout=30)
            with pytest.raises(AriConflict):
                await client.dial(leg.id)
            bridge = await client.create_bridge()
            with pytest.raises(AriBadRequest):
                await client.add_channel(bridge.id, "no-such-channel")
            with pytest.raises(AriUnprocessable):
                await client.remove_channel(bridge.id, a.id)
            assert await client.stop_playback("no-such-playback", missing_ok=True) is False
            with stream.expect(ev.ChannelDestroyed, channel_id=leg.id) as gone:
                assert await client.hangup(leg.id) is True
                destroyed = await gone.wait(timeout=5)
            assert destroyed.cause == 16
            assert await client.hangup(leg.id, missing_ok=True) is False
            await client.destroy_bridge(bridge.id)
            await client.hangup(a.id)
        finally:
            await stream.stop()
