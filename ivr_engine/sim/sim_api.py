"""The simulator's control API under ``/sim`` (beside ``/ari``), for a simulator in another process.

``ivr-engine call`` uses it to place inbound calls, script far ends and read timelines:

- ``POST /sim/calls`` ``{"to", "from", "app", "args", "dtmf": [[at, digits]], "hangup_after"}``
- ``GET /sim/calls/{id}`` (``?wait=<seconds>`` waits for the call to end first)
- ``POST /sim/calls/{id}/hangup``
- ``PUT /sim/behaviours/{number}`` ``{"behaviour": "busy" | "no-answer" | "answer:2" | ...}``
- ``PUT /sim/astdb/{family}/{key}`` ``{"value": ...}``; ``GET /sim/info``
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ivr_engine.sim.ari_http import json_reply
from ivr_engine.sim.behaviour import Behaviour

if TYPE_CHECKING:
    from ivr_engine.sim.server import SimCall, Simulator


def control_routes(sim: Simulator) -> list[web.RouteDef]:
    """The /sim route table bound to one simulator."""
    calls: dict[str, SimCall] = {}

    def describe(call: SimCall) -> dict[str, Any]:
        return {
            "channel_id": call.channel_id,
            "ended": call.ended,
            "timeline": [e.to_json() for e in call.timeline],
            "callees": {cid: [e.to_json() for e in sim.timeline(cid)] for cid in call.callees()},
        }

    async def place(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            dtmf = tuple((float(at), str(d)) for at, d in body.get("dtmf") or ())
            hangup_after = body.get("hangup_after")
            call = await sim.place_call(
                to=str(body["to"]),
                caller=str(body.get("from", "")),
                app=body.get("app") or None,
                app_args=tuple(body.get("args") or ("inbound",)),
                dtmf=dtmf,
                hangup_after=float(hangup_after) if hangup_after else None,
                caller_name=str(body.get("caller_name", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            return json_reply({"message": f"bad call request: {exc}"}, 400)
        calls[call.channel_id] = call
        return json_reply({"channel_id": call.channel_id}, 201)

    def find(request: web.Request) -> SimCall:
        call = calls.get(request.match_info["id"])
        if call is None:
            raise web.HTTPNotFound(
                text='{"message":"Call not found"}', content_type="application/json"
            )
        return call

    async def get(request: web.Request) -> web.Response:
        call = find(request)
        wait = request.query.get("wait")
        if wait:
            with contextlib.suppress(TimeoutError):
                await call.wait_ended(float(wait))
        return json_reply(describe(call))

    async def hangup(request: web.Request) -> web.Response:
        call = find(request)
        await call.hangup()
        return json_reply(describe(call))

    async def behaviour(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            sim.set_behaviour(request.match_info["number"], Behaviour.parse(body["behaviour"]))
        except (KeyError, ValueError) as exc:
            return json_reply({"message": f"bad behaviour: {exc}"}, 400)
        return web.Response(status=204)

    async def astdb(request: web.Request) -> web.Response:
        body = await request.json()
        key = f"{request.match_info['family']}/{request.match_info['key']}"
        sim.astdb[key] = str(body["value"])
        return web.Response(status=204)

    async def info(request: web.Request) -> web.Response:
        return json_reply(
            {
                "ari_url": sim.ari_url,
                "ami_port": sim.ami_port,
                "trunk": sim.config.trunk,
                "default_app": sim.config.default_app,
                "apps": [a.name for a in sim.registry.active_apps()],
                "speed": sim.config.speed,
                "pid": os.getpid(),  # for a benchmark reading the simulator's CPU from /proc
            }
        )

    return [
        web.post("/sim/calls", place),
        web.get("/sim/calls/{id}", get),
        web.post("/sim/calls/{id}/hangup", hangup),
        web.put("/sim/behaviours/{number}", behaviour),
        web.put("/sim/astdb/{family}/{key}", astdb),
        web.get("/sim/info", info),
    ]
