"""ARI ``/channels`` endpoints as typed methods (mixed into ``AriClient``).

Mind the per-channel command queue (asterisk-protocol.md A.2): ``answer``, ``set_variable``
and bridge ``add_channel`` wait behind a running playback, so stop the playback first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ivr_engine.asterisk.ari.errors import AriNotFound
from ivr_engine.asterisk.ari.http import AriHttp, seg
from ivr_engine.asterisk.ari.models import Channel, LiveRecording, Playback


def _media(media: str | Sequence[str]) -> str:
    """A media list as ARI wants it: comma-separated URIs."""
    return media if isinstance(media, str) else ",".join(media)


class ChannelsApi(AriHttp):
    """Channel operations: originate, create/dial, answer, play, hangup, variables, ..."""

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Sequence[str] = (),
        extension: str | None = None,
        context: str | None = None,
        priority: int | None = None,
        caller_id: str | None = None,
        dial_timeout: int | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Originate a call to ``endpoint``; with ``app`` its StasisStart comes only on answer."""
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": ",".join(app_args) if app_args else None,
            "extension": extension,
            "context": context,
            "priority": priority,
            "callerId": caller_id,
            "timeout": dial_timeout,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        body = {"variables": dict(variables)} if variables else None
        data = await self.request("channels.originate", "POST", "/channels", params, body=body)
        return Channel.from_json(data)

    async def create_channel(
        self,
        endpoint: str,
        app: str,
        *,
        app_args: Sequence[str] = (),
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Create a leg (Down, in Stasis at once) to be dialled with ``dial`` on its StasisStart."""
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": ",".join(app_args) if app_args else None,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        body = {"variables": dict(variables)} if variables else None
        data = await self.request("channels.create", "POST", "/channels/create", params, body=body)
        return Channel.from_json(data)

    async def dial(
        self, channel_id: str, *, caller: str | None = None, dial_timeout: int | None = None
    ) -> None:
        """Dial a ``create``d leg (``dial_timeout`` s ringing, then cause 19).

        The outcome arrives as events: key it on ChannelDestroyed ``cause``.
        """
        params = {"caller": caller, "timeout": dial_timeout}
        await self._post("channels.dial", channel_id, "dial", params)

    async def get_channel(self, channel_id: str) -> Channel:
        """The channel's current snapshot (AriNotFound once it is gone)."""
        data = await self.request("channels.get", "GET", f"/channels/{seg(channel_id)}")
        return Channel.from_json(data)

    async def list_channels(self) -> list[Channel]:
        """Every channel Asterisk has."""
        data = await self.request("channels.list", "GET", "/channels")
        return [Channel.from_json(item) for item in data or ()]

    async def hangup(
        self,
        channel_id: str,
        *,
        reason: str | None = None,
        reason_code: int | None = None,
        missing_ok: bool = False,
    ) -> bool:
        """Hang up (``reason`` like ``busy`` or a numeric ``reason_code``, not both).

        With ``missing_ok`` a channel that is already gone counts as success; returns False
        then, True when this call hung it up.
        """
        params = {"reason": reason, "reason_code": reason_code}
        try:
            await self.request("channels.hangup", "DELETE", f"/channels/{seg(channel_id)}", params)
        except AriNotFound:
            if not missing_ok:
                raise
            return False
        return True

    async def answer(self, channel_id: str, *, reply_timeout: float | None = None) -> None:
        """Answer; the reply comes after the answer is done (after any running playback)."""
        await self._post("channels.answer", channel_id, "answer", reply_timeout=reply_timeout)

    async def ring(self, channel_id: str) -> None:
        """Send ringing (180) to the caller; in-band ringback if early media already began."""
        await self._post("channels.ring", channel_id, "ring")

    async def ring_stop(self, channel_id: str) -> None:
        """Stop ringing indication."""
        await self.request("channels.ring_stop", "DELETE", f"/channels/{seg(channel_id)}/ring")

    async def progress(self, channel_id: str) -> None:
        """Send PROGRESS (183) only (Asterisk 20.16 / 21.11 / 22.6 and later)."""
        await self._post("channels.progress", channel_id, "progress")

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
    ) -> Playback:
        """Queue media on a channel (early media if not Up, never an answer); state ``queued``."""
        path = f"/channels/{seg(channel_id)}/play"
        if playback_id is not None:
            path += f"/{seg(playback_id)}"
        params = {"media": _media(media), "lang": lang, "offsetms": offsetms, "skipms": skipms}
        return Playback.from_json(await self.request("channels.play", "POST", path, params))

    async def record(
        self,
        channel_id: str,
        name: str,
        format: str = "wav",
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: str | None = None,
        beep: bool | None = None,
        terminate_on: str | None = None,
    ) -> LiveRecording:
        """Start recording the channel under ``name``."""
        params = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_seconds,
            "maxSilenceSeconds": max_silence_seconds,
            "ifExists": if_exists,
            "beep": beep,
            "terminateOn": terminate_on,
        }
        data = await self.request(
            "channels.record", "POST", f"/channels/{seg(channel_id)}/record", params
        )
        return LiveRecording.from_json(data)

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Leave Stasis and continue in the dialplan (where given, else after Stasis())."""
        params = {"context": context, "extension": extension, "priority": priority, "label": label}
        await self._post("channels.continue", channel_id, "continue", params)

    async def move(self, channel_id: str, app: str, *, app_args: Sequence[str] = ()) -> None:
        """Move the channel to another Stasis application."""
        params = {"app": app, "appArgs": ",".join(app_args) if app_args else None}
        await self._post("channels.move", channel_id, "move", params)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        """Redirect the channel (SIP 302) to ``endpoint`` of the same technology."""
        await self._post("channels.redirect", channel_id, "redirect", {"endpoint": endpoint})

    async def get_variable(self, channel_id: str, variable: str) -> str | None:
        """A channel variable's value; None when it is not set (works on any channel)."""
        try:
            data = await self.request(
                "channels.get_variable",
                "GET",
                f"/channels/{seg(channel_id)}/variable",
                {"variable": variable},
            )
        except AriNotFound as exc:
            if "variable" in exc.message.lower():
                return None
            raise
        return str((data or {}).get("value", ""))

    async def set_variable(
        self, channel_id: str, variable: str, value: str, *, reply_timeout: float | None = None
    ) -> None:
        """Set a channel variable (synchronous: waits behind a running playback).

        Sent in the JSON body, which Asterisk reads as parameters too: a long value (a
        handed-over call trace) would not fit in a request line."""
        await self.request(
            "channels.set_variable",
            "POST",
            f"/channels/{seg(channel_id)}/variable",
            body={"variable": variable, "value": value},
            reply_timeout=reply_timeout,
        )

    async def snoop(
        self,
        channel_id: str,
        app: str,
        *,
        spy: str = "none",
        whisper: str = "none",
        app_args: Sequence[str] = (),
        snoop_id: str | None = None,
    ) -> Channel:
        """Create a snoop channel (e.g. ``whisper="out"`` to speak to this channel only)."""
        path = f"/channels/{seg(channel_id)}/snoop"
        if snoop_id is not None:
            path += f"/{seg(snoop_id)}"
        params = {
            "app": app,
            "spy": spy,
            "whisper": whisper,
            "appArgs": ",".join(app_args) if app_args else None,
        }
        return Channel.from_json(await self.request("channels.snoop", "POST", path, params))

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        """Play music on hold to the channel."""
        await self._post("channels.moh", channel_id, "moh", {"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        """Stop music on hold."""
        await self._delete("channels.moh_stop", channel_id, "moh")

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before: int | None = None,
        between: int | None = None,
        duration: int | None = None,
        after: int | None = None,
    ) -> None:
        """Send DTMF digits to the channel."""
        params = {
            "dtmf": dtmf,
            "before": before,
            "between": between,
            "duration": duration,
            "after": after,
        }
        await self._post("channels.dtmf", channel_id, "dtmf", params)

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        """Mute the channel (``in``, ``out`` or ``both``)."""
        await self._post("channels.mute", channel_id, "mute", {"direction": direction})

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        """Unmute the channel."""
        await self._delete("channels.unmute", channel_id, "mute", {"direction": direction})

    async def hold(self, channel_id: str) -> None:
        """Put the channel on hold."""
        await self._post("channels.hold", channel_id, "hold")

    async def unhold(self, channel_id: str) -> None:
        """Take the channel off hold."""
        await self._delete("channels.unhold", channel_id, "hold")

    async def silence(self, channel_id: str) -> None:
        """Play silence to the channel."""
        await self._post("channels.silence", channel_id, "silence")

    async def stop_silence(self, channel_id: str) -> None:
        """Stop playing silence."""
        await self._delete("channels.silence_stop", channel_id, "silence")

    async def _post(
        self,
        op: str,
        channel_id: str,
        action: str,
        params: Mapping[str, str | int | None] | None = None,
        *,
        reply_timeout: float | None = None,
    ) -> None:
        """POST /channels/{id}/{action} expecting 204."""
        path = f"/channels/{seg(channel_id)}/{action}"
        await self.request(op, "POST", path, params, reply_timeout=reply_timeout)

    async def _delete(
        self,
        op: str,
        channel_id: str,
        action: str,
        params: Mapping[str, str | int | None] | None = None,
    ) -> None:
        """DELETE /channels/{id}/{action} expecting 204."""
        await self.request(op, "DELETE", f"/channels/{seg(channel_id)}/{action}", params)
