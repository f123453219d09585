"""ARI ``/channels`` resource of the simulator (``res/ari/resource_channels.c`` behaviour).

Two checks come first on most endpoints: find_control (404 "Channel not found", 409 "Channel
not in Stasis application") and the state check (412 "Channel in invalid state" for Down,
Rsrvd and Ringing). Synchronous commands (answer, POST variable) wait in the channel's
command queue, so their reply is held behind a playback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ivr_engine.asterisk.constants import (
    HANGUP_REASON_CAUSE,
    ChannelState,
)
from ivr_engine.sim import timeline as tl
from ivr_engine.sim.ari_channel_media import ChannelMediaHandlers, split_args
from ivr_engine.sim.ari_http import AriError, Params, created, json_reply, no_content
from ivr_engine.sim.calls import EndpointError
from ivr_engine.sim.control import ChannelGone
from ivr_engine.sim.core import BY_ARI
from ivr_engine.sim.model import Channel

if TYPE_CHECKING:
    from ivr_engine.sim.world import World

MAX_ID = 149
RECORD_FORMATS = {"wav", "wav16", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "opus"}


class ChannelsResource(ChannelMediaHandlers):
    """Handlers for /ari/channels/..."""

    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[web.RouteDef]:
        """The route table."""
        c = "/ari/channels/{channelId}"
        return [
            web.get("/ari/channels", self.list_),
            web.post("/ari/channels", self.originate),
            web.post("/ari/channels/create", self.create),
            web.get(c, self.get),
            web.post(c, self.originate),
            web.delete(c, self.hangup),
            web.post(c + "/answer", self.answer),
            web.post(c + "/ring", self.ring),
            web.delete(c + "/ring", self.ring_stop),
            web.post(c + "/progress", self.progress),
            web.post(c + "/play", self.play),
            web.post(c + "/play/{playbackId}", self.play),
            web.post(c + "/record", self.record),
            web.post(c + "/dial", self.dial),
            web.post(c + "/continue", self.continue_),
            web.post(c + "/move", self.move),
            web.post(c + "/redirect", self.redirect),
            web.get(c + "/variable", self.get_var),
            web.post(c + "/variable", self.set_var),
            web.post(c + "/snoop", self.snoop),
            web.post(c + "/snoop/{snoopId}", self.snoop),
            web.post(c + "/moh", self.indication(tl.MOH, True)),
            web.delete(c + "/moh", self.indication(tl.MOH, False)),
            web.post(c + "/silence", self.indication(tl.SILENCE, True)),
            web.delete(c + "/silence", self.indication(tl.SILENCE, False)),
            web.post(c + "/hold", self.hold(True)),
            web.delete(c + "/hold", self.hold(False)),
            web.post(c + "/mute", self.mute),
            web.delete(c + "/mute", self.mute),
            web.post(c + "/dtmf", self.dtmf),
        ]

    # ------------------------------------------------------------------ objects
    async def list_(self, request: web.Request) -> web.Response:
        """GET /channels."""
        return json_reply([ch.to_json() for ch in self.world.channels.values()])

    async def get(self, request: web.Request) -> web.Response:
        """GET /channels/{id}."""
        ch = self.world.channels.get(request.match_info["channelId"])
        if ch is None:
            raise AriError(404, "Channel not found")
        return json_reply(ch.to_json())

    def _check_ids(self, p: Params, channel_id: str) -> None:
        other = p.text("otherChannelId")
        if len(channel_id) > MAX_ID or len(other) > MAX_ID:
            raise AriError(400, f"Uniqueid length exceeds maximum of {MAX_ID}")
        for cid in (channel_id, other):
            if cid and cid in self.world.channels:
                raise AriError(409, "Channel with given unique ID already exists")

    def _originator(self, p: Params) -> Channel | None:
        if p.text("originator") and p.text("formats"):
            raise AriError(400, "Originator and formats can't both be specified")
        name = p.text("originator")
        if not name:
            return None
        ch = self.world.channels.get(name)
        if ch is None:
            raise AriError(400, "Provided originator channel was not found")
        return ch

    async def originate(self, request: web.Request) -> web.Response:
        """POST /channels[/{id}]: dial now, enter Stasis when answered."""
        p = await Params.read(request)
        channel_id = request.match_info.get("channelId") or p.text("channelId")
        variables = p.variables()
        endpoint = p.text("endpoint")
        if len(channel_id) > MAX_ID:
            raise AriError(400, f"Uniqueid length exceeds maximum of {MAX_ID}")
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        originator = self._originator(p)
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise AriError(400, "Invalid endpoint specified")
        app, extension = p.text("app"), p.text("extension")
        if not app and not extension:
            raise AriError(400, "Application or extension must be specified")
        self._check_ids(p, channel_id)
        timeout = p.integer("timeout", 30)
        try:
            ch = self.world.originate(
                endpoint,
                app=app,
                app_args=split_args(p.text("appArgs")),
                extension=extension,
                context=p.text("context"),
                priority=p.integer("priority", 1),
                caller_id=p.text("callerId"),
                timeout=None if timeout == -1 else float(timeout or 30),
                channel_id=channel_id or None,
                originator=originator,
                variables=variables,
            )
        except EndpointError as exc:
            raise AriError(exc.status, exc.message) from None
        return json_reply(ch.to_json())

    async def create(self, request: web.Request) -> web.Response:
        """POST /channels/create: 200 Down; StasisStart follows the reply."""
        p = await Params.read(request)
        variables = p.variables()
        originator = self._originator(p)
        endpoint, app = p.text("endpoint"), p.text("app")
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        if not app:
            raise AriError(400, "Missing parameter app")
        channel_id = p.text("channelId")
        self._check_ids(p, channel_id)
        try:
            ch = self.world.create_leg(
                endpoint,
                app,
                split_args(p.text("appArgs")),
                channel_id=channel_id or None,
                originator=originator,
                variables=variables,
            )
        except EndpointError as exc:
            raise AriError(500, "Allocation failed" if exc.status == 500 else exc.message) from None
        return json_reply(ch.to_json())

    async def hangup(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}: works on any channel; cause from reason / reason_code."""
        p = await Params.read(request)
        ch = self.world.channels.get(request.match_info["channelId"])
        if ch is None:
            raise AriError(404, "Channel not found")
        reason, code = p.text("reason"), p.text("reason_code")
        if reason and code:
            raise AriError(400, "The reason and reason_code can't both be specified")
        if code:
            cause = p.integer("reason_code")
        elif reason:
            if reason not in HANGUP_REASON_CAUSE:
                raise AriError(400, "Invalid reason for hangup provided")
            cause = HANGUP_REASON_CAUSE[reason]
        else:
            cause = 16
        self.world.hangup(ch, BY_ARI, cause)
        return no_content()

    # ------------------------------------------------------------------ queued commands
    async def _sync(self, ch: Channel, command: object, failure: tuple[int, str]) -> None:
        assert ch.control is not None
        try:
            await ch.control.submit(command)  # type: ignore[arg-type]
        except ChannelGone:
            raise AriError(*failure) from None

    async def answer(self, request: web.Request) -> web.Response:
        """POST /answer: replied once the answer has run (held behind a playback)."""
        ch = self.media_channel(request)

        async def command() -> None:
            if ch.gone:
                raise ChannelGone(ch.id)
            self.world.answer_now(ch)
            # ast_raw_answer() ends with ast_indicate(-1), also on a channel already Up.
            self.world.stop_ringing(ch, "answer")

        await self._sync(ch, command, (500, "Failed to answer channel"))
        return no_content()

    async def set_var(self, request: web.Request) -> web.Response:
        """POST /variable: synchronous, so held behind a playback too."""
        p = await Params.read(request)
        name = p.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self.channel(request)
        value = p.text("value")

        async def command() -> None:
            self.world.set_var(ch, name, value)

        await self._sync(ch, command, (400, "Failed to execute function"))
        return no_content()

    async def get_var(self, request: web.Request) -> web.Response:
        """GET /variable: any channel (not only Stasis ones)."""
        p = await Params.read(request)
        name = p.text("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self.world.channels.get(request.match_info["channelId"])
        if ch is None:
            raise AriError(404, "Provided channel was not found")
        functions = {
            "CALLERID(num)": ch.caller_number,
            "CALLERID(name)": ch.caller_name,
            "CHANNEL(state)": ch.state,
            "CHANNEL(language)": ch.language,
            "CHANNEL(name)": ch.name,
            "UNIQUEID": ch.id,
        }
        if name in functions:
            return json_reply({"value": functions[name]})
        if name.endswith(")"):
            raise AriError(500, "Unable to read provided function")
        if name not in ch.variables:
            raise AriError(404, "Provided variable was not found")
        return json_reply({"value": ch.variables[name]})

    async def play(self, request: web.Request) -> web.Response:
        """POST /play: 201 Playback (queued); early media when the channel is not Up."""
        p = await Params.read(request)
        ch = self.media_channel(request)
        media = p.items("media")
        if not media:
            raise AriError(400, "Missing parameter media")
        if p.integer("skipms", 3000) < 0:
            raise AriError(400, "skipms cannot be negative")
        if p.integer("offsetms") < 0:
            raise AriError(400, "offsetms cannot be negative")
        pb_id = request.match_info.get("playbackId") or p.text("playbackId") or None
        pb = self.world.new_playback(
            media,
            f"channel:{ch.id}",
            p.text("lang") or ch.language,
            pb_id,
            p.integer("offsetms"),
            p.integer("skipms", 3000),
        )
        self.world.play_on_channel(ch, pb)
        return created(f"/ari/playbacks/{pb.id}", pb.to_json())

    async def record(self, request: web.Request) -> web.Response:
        """POST /record: 201 LiveRecording; it occupies the command queue while recording."""
        p = await Params.read(request)
        if p.integer("maxDurationSeconds") < 0:
            raise AriError(400, "max_duration_seconds cannot be negative")
        if p.integer("maxSilenceSeconds") < 0:
            raise AriError(400, "max_silence_seconds cannot be negative")
        ch = self.channel(request)
        name, fmt = p.text("name"), p.text("format")
        if not name or not fmt:
            raise AriError(400, "Missing parameter " + ("name" if not name else "format"))
        terminate = p.text("terminateOn", "none")
        if terminate not in ("none", "any", "*", "#"):
            raise AriError(400, "terminateOn invalid")
        if_exists = p.text("ifExists", "fail")
        if if_exists not in ("fail", "overwrite", "append"):
            raise AriError(400, "ifExists invalid")
        if fmt not in RECORD_FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        exists = name in self.world.recordings or name in self.world.stored_recordings
        if exists and if_exists == "fail":
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        rec = self.world.new_recording(
            name, fmt, f"channel:{ch.id}", float(p.integer("maxDurationSeconds")), terminate
        )
        assert ch.control is not None
        ch.control.submit(lambda: self.world.run_recording(rec, ch))
        return created(f"/ari/recordings/live/{name}", rec.to_json())

    async def dial(self, request: web.Request) -> web.Response:
        """POST /dial: only a Down leg made by /channels/create."""
        p = await Params.read(request)
        ch = self.channel(request)
        caller = self.world.channels.get(p.text("caller"))
        if ch.state not in (ChannelState.DOWN, ChannelState.RSRVD):
            raise AriError(409, "Channel is not in the 'Down' state")
        if ch.dialstring is None or ch.dialled:
            raise AriError(409, "Dialing a channel not created by ARI")
        timeout = p.integer("timeout")
        self.world.start_dial(ch, caller, float(timeout) if timeout > 0 else None)
        return no_content()

    async def continue_(self, request: web.Request) -> web.Response:
        """POST /continue: leave Stasis into the dialplan."""
        p = await Params.read(request)
        ch = self.media_channel(request)
        context = p.text("context")
        if not context:
            context, exten = ch.context, p.text("extension") or ch.exten
        else:
            exten = p.text("extension") or "s"
        label = p.text("label")
        if label:
            if not label.isdigit():
                raise AriError(404, "Requested label can not be found")
            priority = int(label)
        elif p.integer("priority"):
            priority = p.integer("priority")
        elif not p.text("context") and not p.text("extension"):
            priority = ch.priority + 1
        else:
            priority = 1
        self.world.continue_in_dialplan(ch, context, exten, priority)
        return no_content()

    async def move(self, request: web.Request) -> web.Response:
        """POST /move: StasisEnd here, StasisStart in the other application."""
        p = await Params.read(request)
        ch = self.channel(request)
        app = p.text("app")
        if not app:
            raise AriError(400, "Missing parameter app")
        self.world.leave_stasis(ch)
        self.world.enter_stasis(ch, app, split_args(p.text("appArgs")))
        return no_content()

    async def redirect(self, request: web.Request) -> web.Response:
        """POST /redirect: SIP 302 to another endpoint of the same technology."""
        p = await Params.read(request)
        ch = self.media_channel(request)
        endpoint = p.text("endpoint")
        if not endpoint:
            raise AriError(400, "Required parameter 'endpoint' not provided.")
        tech, _, resource = endpoint.partition("/")
        if not tech or not _:
            raise AriError(422, f"Endpoint parameter '{endpoint}' does not contain tech/resource")
        if not resource:
            raise AriError(422, f"No resource provided in endpoint parameter '{endpoint}'")
        own = ch.name.split("/", 1)[0]
        if tech.lower() != own.lower():
            raise AriError(
                422, f"Endpoint technology '{tech}' does not match channel technology '{own}'"
            )
        ch.timeline.add("redirect", endpoint, ended=True)
        return no_content()
