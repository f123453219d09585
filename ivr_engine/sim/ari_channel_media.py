"""ARI channel handlers for media, indications and snoop (part of the /channels resource)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from ivr_engine.asterisk.constants import INVALID_FOR_MEDIA_STATES, ChannelState
from ivr_engine.sim import timeline as tl
from ivr_engine.sim.ari_http import AriError, Params, json_reply, no_content
from ivr_engine.sim.model import SNOOP, Channel

if TYPE_CHECKING:
    from ivr_engine.sim.world import World


def split_args(text: str) -> list[str]:
    """appArgs "a,b" -> ["a", "b"] (as Stasis(app,a,b) splits them)."""
    return text.split(",") if text else []


class ChannelMediaHandlers:
    """moh, silence, hold, ring, progress, mute, dtmf and snoop on a Stasis channel."""

    world: World

    def channel(self, request: web.Request) -> Channel:
        """find_control: the channel if it is in Stasis, else 404 / 409."""
        ch = self.world.channels.get(request.match_info["channelId"])
        if ch is None:
            raise AriError(404, "Channel not found")
        if not self.world.in_stasis(ch):
            raise AriError(409, "Channel not in Stasis application")
        return ch

    def media_channel(self, request: web.Request) -> Channel:
        """find_control plus the state check (412 for Down, Rsrvd, Ringing)."""
        ch = self.channel(request)
        if ch.state in INVALID_FOR_MEDIA_STATES:
            raise AriError(412, "Channel in invalid state")
        return ch

    async def snoop(self, request: web.Request) -> web.Response:
        """POST /snoop: a Snoop channel (Up) that enters the app at once."""
        p = await Params.read(request)
        spy, whisper = p.text("spy", "none") or "none", p.text("whisper", "none") or "none"
        for what, value in (("spy", spy), ("whisper", whisper)):
            if value not in ("none", "both", "out", "in"):
                raise AriError(400, f"Invalid direction specified for {what}")
        if spy == "none" and whisper == "none":
            raise AriError(400, "Direction must be specified for at least spy or whisper")
        app = p.text("app")
        if not app:
            raise AriError(400, "Application name is required")
        target = self.world.channels.get(request.match_info["channelId"])
        if target is None:
            raise AriError(404, "Provided channel was not found")
        snoop_id = request.match_info.get("snoopId") or p.text("snoopId") or None
        if snoop_id and snoop_id in self.world.channels:
            raise AriError(500, "Snoop channel could not be created")
        ch = self.world.new_channel(
            SNOOP, f"Snoop/{target.id}", channel_id=snoop_id, state=ChannelState.UP
        )
        ch.snoop_target, ch.whisper = target.id, whisper != "none"
        ch.language = target.language
        self.world.registry.subscribe(app, "channels", ch.id)
        args = split_args(p.text("appArgs"))
        self.world.clock.call_later(
            self.world.stasis_start_delay, self._snoop_enters, ch, app, args
        )
        return json_reply(ch.to_json())

    def _snoop_enters(self, ch: Channel, app: str, args: list[str]) -> None:
        if not ch.gone:
            self.world.enter_stasis(ch, app, args)

    # ------------------------------------------------------------------ indications
    def indication(self, kind: str, start: bool):  # type: ignore[no-untyped-def]
        """POST/DELETE moh and silence."""

        async def handler(request: web.Request) -> web.Response:
            p = await Params.read(request)
            ch = self.media_channel(request)
            if start:
                if kind == tl.MOH:  # MOH's generator replaces the ringing tone
                    self.world.stop_ringing(ch, "moh")
                self.world.start_indication(
                    ch, kind, p.text("mohClass", "default") if kind == tl.MOH else ""
                )
            else:
                self.world.stop_indication(ch, kind)
            return no_content()

        return handler

    def hold(self, start: bool):  # type: ignore[no-untyped-def]
        """POST/DELETE hold (ChannelHold / ChannelUnhold)."""

        async def handler(request: web.Request) -> web.Response:
            ch = self.media_channel(request)
            if start:
                self.world.start_indication(ch, tl.HOLD)
                self.world.emit_channel("ChannelHold", ch)
            else:
                self.world.stop_indication(ch, tl.HOLD)
                self.world.emit_channel("ChannelUnhold", ch)
            return no_content()

        return handler

    async def ring(self, request: web.Request) -> web.Response:
        """POST /ring: queued (async); 180 Ringing, or the ringback tone in band once early
        media has started or the channel is Up (``World.indicate_ringing``)."""
        ch = self.media_channel(request)
        self._queue(ch, lambda: self.world.indicate_ringing(ch))
        return no_content()

    async def ring_stop(self, request: web.Request) -> web.Response:
        """DELETE /ring: queued (async); ast_indicate(-1) stops the ringing and its tone."""
        ch = self.media_channel(request)
        self._queue(ch, lambda: self.world.stop_ringing(ch, "ring stop"))
        return no_content()

    @staticmethod
    def _queue(ch: Channel, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the channel's command queue without waiting (an async command)."""

        async def command() -> None:
            if not ch.gone:
                fn()

        assert ch.control is not None
        ch.control.submit(command)

    async def progress(self, request: web.Request) -> web.Response:
        """POST /progress: 183 Session Progress only."""
        ch = self.media_channel(request)
        ch.timeline.add(tl.PROGRESS, "183", ended=True, early_media=not ch.is_up)
        return no_content()

    async def mute(self, request: web.Request) -> web.Response:
        """POST/DELETE /mute."""
        p = await Params.read(request)
        ch = self.media_channel(request)
        direction = p.text("direction", "both")
        if not direction:
            raise AriError(400, "Direction is required")
        if direction not in ("in", "out", "both"):
            raise AriError(400, "Invalid direction specified")
        ch.timeline.add("mute" if request.method == "POST" else "unmute", direction, ended=True)
        return no_content()

    async def dtmf(self, request: web.Request) -> web.Response:
        """POST /dtmf: queued; the party hears the digits."""
        p = await Params.read(request)
        ch = self.media_channel(request)
        digits = p.text("dtmf")
        if not digits:
            raise AriError(400, "DTMF is required")
        before, between = p.integer("before") / 1000, p.integer("between", 100) / 1000
        duration, after = p.integer("duration", 100) / 1000, p.integer("after") / 1000
        assert ch.control is not None
        ch.control.submit(
            lambda: self.world.send_dtmf(ch, digits, before, between, duration, after)
        )
        return no_content()
