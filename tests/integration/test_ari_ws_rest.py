"""The engine's ARI client sending requests over the events WebSocket, against the simulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from ivr_engine.asterisk.ari import AriClient, AriNotFound, EventStream
from ivr_engine.asterisk.ari.events import PlaybackStarted, StasisStart
from ivr_engine.asterisk.ari.http import basic_auth
from ivr_engine.asterisk.ari.ws_rest import WsRestState
from ivr_engine.sim import Simulator

APP = "ws-rest-test"
Pair = tuple[AriClient, EventStream]


@pytest.fixture
async def connect(sim: Simulator) -> AsyncIterator[Callable[..., Awaitable[Pair]]]:
    """Start a client and a stream wired the way the engine wires them."""
    made: list[Pair] = []

    async def start(**stream_options: bool) -> Pair:
        cfg = sim.config
        client = AriClient(sim.ari_url, cfg.ari_user, cfg.ari_password)
        stream = EventStream(sim.ari_url, cfg.ari_user, cfg.ari_password, APP, **stream_options)
        client.use_websocket(stream.rest)
        await stream.start()
        await stream.wait_connected(5)
        made.append((client, stream))
        return client, stream

    yield start
    for client, stream in made:
        await stream.stop()
        await client.close()


async def settled(stream: EventStream) -> WsRestState:
    """The transport's state once its probe has decided."""
    return await stream.rest.settled()


async def test_requests_go_over_the_socket_once_the_probe_answers(
    connect: Callable[..., Awaitable[Pair]], sim: Simulator
) -> None:
    client, stream = await connect()
    assert await settled(stream) is WsRestState.AVAILABLE
    sent = stream.rest.sent
    bridge = await client.create_bridge("mixing", name="ws")
    assert bridge.id in sim.bridges
    with pytest.raises(AriNotFound):
        await client.get_channel("no-such-channel")
    assert await client.destroy_bridge(bridge.id)
    assert bridge.id not in sim.bridges
    assert stream.rest.sent == sent + 3
    # The event filter goes over HTTP and lets the replies through.
    await client.set_event_filter(APP, ["StasisStart"])
    assert stream.rest.sent == sent + 3
    app = await client.get_application(APP)
    assert {"StasisStart", "RESTResponse"} <= {f["type"] for f in app.events_allowed}
    assert await settled(stream) is WsRestState.AVAILABLE
    await client.ping()
    assert stream.rest.sent == sent + 5


async def test_a_filter_that_drops_the_replies_means_http_until_the_engine_sets_its_own(
    connect: Callable[..., Awaitable[Pair]], sim: Simulator
) -> None:
    cfg = sim.config
    # An earlier engine left the app an allowed list without RESTResponse; the filter
    # belongs to the application and outlives the socket.
    first = EventStream(sim.ari_url, cfg.ari_user, cfg.ari_password, APP)
    await first.start()
    await first.wait_connected(5)
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            f"{sim.ari_url}/applications/{APP}/eventFilter",
            json={"allowed": [{"type": "StasisStart"}], "disallowed": []},
            headers={"Authorization": basic_auth(cfg.ari_user, cfg.ari_password)},
        ) as resp,
    ):
        assert resp.status == 200
    await first.stop()
    client, stream = await connect()
    stream.rest.probe_timeout = 0.3
    assert await settled(stream) is WsRestState.UNSUPPORTED
    sent = stream.rest.sent
    bridge = await client.create_bridge("mixing")
    assert bridge.id in sim.bridges and stream.rest.sent == sent  # over HTTP
    await client.set_event_filter(APP, ["StasisStart"])  # adds RESTResponse, probes again
    assert await settled(stream) is WsRestState.AVAILABLE
    await client.destroy_bridge(bridge.id)
    assert stream.rest.sent == sent + 2  # the probe and the destroy


async def test_switched_off_it_never_uses_the_socket(
    connect: Callable[..., Awaitable[Pair]],
) -> None:
    client, stream = await connect(rest_over_websocket=False)
    assert await settled(stream) is WsRestState.UNSUPPORTED
    await client.ping()
    assert stream.rest.sent == 0


async def test_a_request_that_holds_the_socket_is_logged(
    connect: Callable[..., Awaitable[Pair]], sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client, stream = await connect()
    assert await settled(stream) is WsRestState.AVAILABLE
    with stream.expect(StasisStart) as entered:
        call = await sim.place_call(to="05051234567", caller="01020003000", app=APP)
        channel = (await entered.wait(5)).channel.id
    assert channel == call.channel_id
    with stream.expect(PlaybackStarted, lambda e: e.playback.id == "hold-1") as started:
        await client.play(channel, "sound:demo-congrats", playback_id="hold-1")
        await started.wait(5)
    caplog.set_level(logging.WARNING, "ivr_engine.asterisk.ari")
    client.slow_on_socket = 0.05  # the simulator runs at 20x: the prompt lasts ~0.3 s here
    await client.answer(channel)  # waits behind the playback, holding the socket meanwhile
    assert "on the events WebSocket, holding up the requests behind it" in caplog.text
    await client.hangup(channel, missing_ok=True)
