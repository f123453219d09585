"""``serve`` and ``run`` use uvloop by default: the simulator and the ARI client on it."""

from __future__ import annotations

import uvloop

from ivr_engine.asterisk.ari import AriClient, EventStream
from ivr_engine.asterisk.ari.ws_rest import WsRestState
from ivr_engine.sim import Simulator
from tests.fixtures.sim import sim_config


async def _round_trip() -> tuple[WsRestState, int, str]:
    async with Simulator(sim_config()) as sim:
        cfg = sim.config
        client = AriClient(sim.ari_url, cfg.ari_user, cfg.ari_password)
        stream = EventStream(sim.ari_url, cfg.ari_user, cfg.ari_password, "uv")
        client.use_websocket(stream.rest)
        await stream.start()
        try:
            await stream.wait_connected(5)
            state = await stream.rest.settled()
            bridge = await client.create_bridge("mixing")
            await client.destroy_bridge(bridge.id)
            return state, stream.rest.sent, bridge.bridge_type
        finally:
            await stream.stop()
            await client.close()


def test_the_simulator_and_requests_over_the_websocket_run_on_uvloop() -> None:
    state, sent, kind = uvloop.run(_round_trip())
    assert state is WsRestState.AVAILABLE
    assert sent == 3  # the probe, the create, the destroy
    assert kind == "mixing"
