"""ARI resources other than channels: bridges, playbacks, recordings, applications, asterisk."""

from __future__ import annotations

import contextlib
import platform
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ivr_engine.asterisk.constants import PlaybackState, RecordingState
from ivr_engine.sim import timeline as tl
from ivr_engine.sim.ari_events import EventFilter
from ivr_engine.sim.ari_http import AriError, Params, created, json_reply, no_content
from ivr_engine.sim.control import ChannelControl, ChannelGone
from ivr_engine.sim.model import Bridge, Channel

if TYPE_CHECKING:
    from ivr_engine.sim.world import World

BRIDGE_TYPES = {
    "mixing",
    "holding",
    "dtmf_events",
    "proxy_media",
    "video_sfu",
    "video_single",
    "sdp_label",
}
PLAYBACK_OPS = {"restart", "pause", "unpause", "reverse", "forward"}


class OtherResources:
    """Handlers for /ari/bridges, /playbacks, /recordings, /applications, /asterisk, /endpoints."""

    def __init__(self, world: World, version: str, entity_id: str, system_name: str) -> None:
        self.world = world
        self.version = version
        self.entity_id = entity_id
        self.system_name = system_name
        self.started = world.clock.timestamp()

    def routes(self) -> list[web.RouteDef]:
        """The route table."""
        b = "/ari/bridges/{bridgeId}"
        return [
            web.get("/ari/bridges", self.list_bridges),
            web.post("/ari/bridges", self.create_bridge),
            web.get(b, self.get_bridge),
            web.post(b, self.create_bridge),
            web.delete(b, self.destroy_bridge),
            web.post(b + "/addChannel", self.add_channel),
            web.post(b + "/removeChannel", self.remove_channel),
            web.post(b + "/play", self.play_bridge),
            web.post(b + "/play/{playbackId}", self.play_bridge),
            web.post(b + "/moh", self.bridge_moh),
            web.delete(b + "/moh", self.bridge_moh),
            web.get("/ari/playbacks/{playbackId}", self.get_playback),
            web.delete("/ari/playbacks/{playbackId}", self.stop_playback),
            web.post("/ari/playbacks/{playbackId}/control", self.control_playback),
            web.get("/ari/recordings/live/{name}", self.get_live),
            web.delete("/ari/recordings/live/{name}", self.cancel_live),
            web.post("/ari/recordings/live/{name}/stop", self.stop_live),
            web.get("/ari/recordings/stored", self.list_stored),
            web.get("/ari/recordings/stored/{name}", self.get_stored),
            web.delete("/ari/recordings/stored/{name}", self.delete_stored),
            web.get("/ari/applications", self.list_apps),
            web.get("/ari/applications/{app}", self.get_app),
            web.post("/ari/applications/{app}/subscription", self.subscribe),
            web.delete("/ari/applications/{app}/subscription", self.subscribe),
            web.put("/ari/applications/{app}/eventFilter", self.event_filter),
            web.get("/ari/asterisk/info", self.info),
            web.get("/ari/asterisk/ping", self.ping),
            web.get("/ari/endpoints", self.endpoints),
        ]

    # ------------------------------------------------------------------ bridges
    def bridge(self, request: web.Request) -> Bridge:
        """The bridge named in the path, or 404."""
        bridge = self.world.bridges.get(request.match_info["bridgeId"])
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return bridge

    async def list_bridges(self, request: web.Request) -> web.Response:
        """GET /bridges."""
        return json_reply([b.to_json() for b in self.world.bridges.values()])

    async def get_bridge(self, request: web.Request) -> web.Response:
        """GET /bridges/{id}."""
        return json_reply(self.bridge(request).to_json())

    async def create_bridge(self, request: web.Request) -> web.Response:
        """POST /bridges[/{id}]: 200 Bridge; 409 for an id in use."""
        p = await Params.read(request)
        bridge_id = request.match_info.get("bridgeId") or p.text("bridgeId") or str(uuid.uuid4())
        types = p.items("type") or ["mixing"]
        if any(t not in BRIDGE_TYPES for t in types):
            raise AriError(400, "Invalid bridge type")
        if bridge_id in self.world.bridges:
            raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
        bridge = Bridge(
            bridge_id,
            p.text("name"),
            "holding" if "holding" in types else "mixing",
            self.world.clock.timestamp(),
        )
        self.world.bridges[bridge_id] = bridge
        self.world.notify("BridgeCreate", None, bridge=bridge)
        return json_reply(bridge.to_json())

    async def destroy_bridge(self, request: web.Request) -> web.Response:
        """DELETE /bridges/{id}."""
        bridge = self.bridge(request)
        self.world.destroy_bridge(bridge)
        if bridge.control is not None:
            bridge.control.close()
        return no_content()

    def _bridge_channels(self, p: Params) -> list[tuple[Channel, ChannelControl | None]]:
        """control_list_create: every named channel with its command queue, in order; 400
        "Channel not found" when its snapshot is gone, 422 when it exists outside Stasis
        (as a hung-up channel does between its StasisEnd and its destruction)."""
        names = p.items("channel")
        if not names:
            raise AriError(400, "Missing parameter channel")
        found = []
        for name in names:
            ch = self.world.channels.get(name)
            if ch is None:
                raise AriError(400, "Channel not found")
            if not self.world.in_stasis(ch):
                raise AriError(422, "Channel not in Stasis application")
            found.append((ch, ch.control))
        return found

    async def add_channel(self, request: web.Request) -> web.Response:
        """POST addChannel: the bridge first (404), then the channels (400 / 422); each is
        added in turn through its command queue, synchronously, with no state check (409
        for one being recorded). A channel that hangs up before its add has run is not
        added, and the reply is 204 all the same."""
        p = await Params.read(request)
        bridge = self.bridge(request)
        for ch, control in self._bridge_channels(p):
            if self._recording(ch):  # the add rule of res/stasis_recording.c
                raise AriError(409, f"Channel {ch.id} currently recording")
            await self._queued(control, lambda ch=ch: self._join(ch, bridge))
        return no_content()

    def _recording(self, ch: Channel) -> bool:
        """Whether a recording of the channel is under way (queued, recording or paused)."""
        target = f"channel:{ch.id}"
        active = (RecordingState.QUEUED, RecordingState.RECORDING, RecordingState.PAUSED)
        return any(
            r.target_uri == target and r.state in active for r in self.world.recordings.values()
        )

    def _join(self, ch: Channel, bridge: Bridge) -> None:
        if ch.gone or ch.hanging_up or bridge.id not in self.world.bridges:
            raise ChannelGone(ch.id)
        if ch.stasis_app and ch.bridge_id != bridge.id:
            self.world.registry.subscribe(ch.stasis_app, "bridges", bridge.id)
        self.world.join_bridge(ch, bridge)

    @staticmethod
    async def _queued(control: ChannelControl | None, fn: Any) -> None:
        """Run ``fn`` on a channel's command queue and wait; a channel that hung up before
        it ran makes the command fail, which the bridge endpoints do not report."""

        async def command() -> None:
            fn()

        if control is None:
            return
        with contextlib.suppress(ChannelGone):
            await control.submit(command)

    async def remove_channel(self, request: web.Request) -> web.Response:
        """POST removeChannel: 422 when the channel is not in this bridge."""
        p = await Params.read(request)
        bridge = self.bridge(request)
        chans = self._bridge_channels(p)
        for ch, _control in chans:
            if ch.id not in bridge.channels:
                raise AriError(422, "Channel not in this bridge")
        for ch, control in chans:
            await self._queued(control, lambda ch=ch: self._leave(ch, bridge))
        return no_content()

    def _leave(self, ch: Channel, bridge: Bridge) -> None:
        if ch.bridge_id == bridge.id:
            self.world.leave_bridge(ch)
            if ch.stasis_app:
                self.world.registry.unsubscribe(ch.stasis_app, "bridges", bridge.id)

    async def play_bridge(self, request: web.Request) -> web.Response:
        """POST /bridges/{id}/play: every channel in the bridge hears it."""
        p = await Params.read(request)
        bridge = self.bridge(request)
        media = p.items("media")
        if not media:
            raise AriError(400, "Missing parameter media")
        pb_id = request.match_info.get("playbackId") or p.text("playbackId") or None
        pb = self.world.new_playback(
            media,
            f"bridge:{bridge.id}",
            p.text("lang") or self.world.language,
            pb_id,
            p.integer("offsetms"),
            p.integer("skipms", 3000),
        )
        self.world.play_on_bridge(bridge, pb)
        return created(f"/ari/playbacks/{pb.id}", pb.to_json())

    async def bridge_moh(self, request: web.Request) -> web.Response:
        """POST/DELETE /bridges/{id}/moh."""
        p = await Params.read(request)
        bridge = self.bridge(request)
        start = request.method == "POST"
        bridge.moh_class = p.text("mohClass", "default") if start else None
        for cid in bridge.channels:
            ch = self.world.channels.get(cid)
            if ch is not None and start:
                self.world.start_indication(ch, tl.MOH, bridge.moh_class or "default")
            elif ch is not None:
                self.world.stop_indication(ch, tl.MOH)
        return no_content()

    # ------------------------------------------------------------------ playbacks
    def playback(self, request: web.Request) -> Any:
        """The playback named in the path, or 404 (a finished playback is gone)."""
        pb = self.world.playbacks.get(request.match_info["playbackId"])
        if pb is None:
            raise AriError(404, "Playback not found")
        return pb

    async def get_playback(self, request: web.Request) -> web.Response:
        """GET /playbacks/{id}."""
        return json_reply(self.playback(request).to_json())

    async def stop_playback(self, request: web.Request) -> web.Response:
        """DELETE /playbacks/{id}: not queued; a queued playback is cancelled."""
        self.world.stop_playback(self.playback(request))
        return no_content()

    async def control_playback(self, request: web.Request) -> web.Response:
        """POST /playbacks/{id}/control?operation=..."""
        p = await Params.read(request)
        pb = self.playback(request)
        op = p.text("operation")
        if op not in PLAYBACK_OPS:
            raise AriError(400, "Invalid operation")
        if pb.state not in (PlaybackState.PLAYING, PlaybackState.PAUSED):
            raise AriError(409, f"Can only {op} while media is playing")
        pb.control.put_nowait(op)
        return no_content()

    # ------------------------------------------------------------------ recordings
    def live(self, request: web.Request) -> Any:
        """The live recording named in the path, or 404."""
        rec = self.world.recordings.get(request.match_info["name"])
        if rec is None:
            raise AriError(404, "Recording not found")
        return rec

    async def get_live(self, request: web.Request) -> web.Response:
        """GET /recordings/live/{name}."""
        return json_reply(self.live(request).to_json())

    async def stop_live(self, request: web.Request) -> web.Response:
        """POST /recordings/live/{name}/stop: ends it as done (kept)."""
        rec = self.live(request)
        rec.stop_state = RecordingState.DONE
        rec.stop.set()
        return no_content()

    async def cancel_live(self, request: web.Request) -> web.Response:
        """DELETE /recordings/live/{name}: ends it as canceled (discarded)."""
        rec = self.live(request)
        rec.stop_state = RecordingState.CANCELED
        rec.stop.set()
        return no_content()

    async def list_stored(self, request: web.Request) -> web.Response:
        """GET /recordings/stored."""
        return json_reply(
            [{"name": n, "format": f} for n, f in sorted(self.world.stored_recordings.items())]
        )

    async def get_stored(self, request: web.Request) -> web.Response:
        """GET /recordings/stored/{name}."""
        name = request.match_info["name"]
        if name not in self.world.stored_recordings:
            raise AriError(404, "Recording not found")
        return json_reply({"name": name, "format": self.world.stored_recordings[name]})

    async def delete_stored(self, request: web.Request) -> web.Response:
        """DELETE /recordings/stored/{name}."""
        if self.world.stored_recordings.pop(request.match_info["name"], None) is None:
            raise AriError(404, "Recording not found")
        return no_content()

    # ------------------------------------------------------------------ applications
    def app_json(self, name: str) -> dict[str, Any]:
        """The Application object of an active app, or 404."""
        registry = self.world.registry
        if not registry.is_active(name):
            raise AriError(404, "Application not found")
        return registry.app(name).to_json(registry.filter_of(name))

    async def list_apps(self, request: web.Request) -> web.Response:
        """GET /applications."""
        registry = self.world.registry
        return json_reply([a.to_json(registry.filter_of(a.name)) for a in registry.active_apps()])

    async def get_app(self, request: web.Request) -> web.Response:
        """GET /applications/{app}."""
        return json_reply(self.app_json(request.match_info["app"]))

    async def subscribe(self, request: web.Request) -> web.Response:
        """POST/DELETE /applications/{app}/subscription?eventSource=..."""
        p = await Params.read(request)
        name = request.match_info["app"]
        sources = p.items("eventSource")
        if not sources:
            raise AriError(400, "Missing parameter eventSource")
        self.app_json(name)
        registry = self.world.registry
        parsed = []
        for source in sources:
            scheme, _, oid = source.partition(":")
            kinds: dict[str, tuple[str, Mapping[str, object]]] = {
                "channel": ("channels", self.world.channels),
                "bridge": ("bridges", self.world.bridges),
            }
            if scheme in kinds:
                kind, objects = kinds[scheme]
                if oid not in objects:
                    raise AriError(422, "Unable to find event source")
            elif scheme in ("endpoint", "deviceState"):
                kind = "endpoints" if scheme == "endpoint" else "devices"
            else:
                raise AriError(400, "Invalid event source URI scheme")
            parsed.append((kind, oid))
        for kind, oid in parsed:
            if request.method == "POST":
                registry.subscribe(name, kind, oid)
            elif not getattr(registry.app(name), kind).get(oid):
                raise AriError(409, "Application not subscribed to event source")
            else:
                registry.unsubscribe(name, kind, oid)
        return json_reply(self.app_json(name))

    async def event_filter(self, request: web.Request) -> web.Response:
        """PUT /applications/{app}/eventFilter: belongs to the app, outlives the WebSocket."""
        p = await Params.read(request)
        name = request.match_info["app"]
        self.app_json(name)
        allowed, disallowed = p.body.get("allowed") or [], p.body.get("disallowed") or []
        if not isinstance(allowed, list) or not isinstance(disallowed, list):
            raise AriError(400, "Invalid format definition")
        self.world.registry.filters[name] = EventFilter(list(allowed), list(disallowed))
        return json_reply(self.app_json(name))

    # ------------------------------------------------------------------ asterisk
    async def info(self, request: web.Request) -> web.Response:
        """GET /asterisk/info[?only=build,system,config,status]."""
        p = await Params.read(request)
        sections = {
            "build": {
                "os": platform.system(),
                "kernel": platform.release(),
                "options": "",
                "machine": platform.machine(),
                "date": "",
                "user": "ivr-engine",
            },
            "system": {"version": self.version, "entity_id": self.entity_id},
            "config": {
                "name": self.system_name,
                "default_language": self.world.language,
                "setid": {"user": "asterisk", "group": "asterisk"},
            },
            "status": {"startup_time": self.started, "last_reload_time": self.started},
        }
        only = p.items("only")
        if only:
            sections = {k: v for k, v in sections.items() if k in only}
        return json_reply(sections)

    async def ping(self, request: web.Request) -> web.Response:
        """GET /asterisk/ping."""
        return json_reply(
            {
                "ping": "pong",
                "timestamp": self.world.clock.timestamp(),
                "asterisk_id": self.entity_id,
            }
        )

    async def endpoints(self, request: web.Request) -> web.Response:
        """GET /endpoints: the carrier trunk."""
        ids = [
            c.id
            for c in self.world.channels.values()
            if c.name.startswith(f"PJSIP/{self.world.trunk}-")
        ]
        return json_reply(
            [
                {
                    "technology": "PJSIP",
                    "resource": self.world.trunk,
                    "state": "online",
                    "channel_ids": ids,
                }
            ]
        )
