"""``AriClient``: typed async calls for Asterisk's REST Interface.

One client per Asterisk, sharing one pooled HTTP session. Channel calls live in
``channels.py``; bridges, playbacks, applications and Asterisk itself are here. Failures
raise the typed errors of ``errors.py``; known benign races have ``missing_ok`` switches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ivr_engine.asterisk.ari.channels import ChannelsApi, _media
from ivr_engine.asterisk.ari.errors import AriNotFound
from ivr_engine.asterisk.ari.http import seg
from ivr_engine.asterisk.ari.models import (
    Application,
    AsteriskInfo,
    AsteriskPing,
    Bridge,
    LiveRecording,
    Playback,
)
from ivr_engine.asterisk.ari.ws_rest import RESPONSE_EVENT


class AriClient(ChannelsApi):
    """Every ARI endpoint the engine uses, as typed coroutines.

    ``AriClient(base_url, user, password, *, session=None, timeout=10.0, observer=None)``;
    ``base_url`` ends in ``/ari``. Use as ``async with`` or call ``close()``.
    """

    async def __aenter__(self) -> AriClient:
        return self

    # -- bridges ---------------------------------------------------------------------------
    async def create_bridge(
        self,
        type: str | Sequence[str] = "mixing",
        *,
        name: str | None = None,
        bridge_id: str | None = None,
    ) -> Bridge:
        """Create a Stasis bridge (``mixing`` by default; ``holding``, ``dtmf_events`` ...)."""
        path = "/bridges" if bridge_id is None else f"/bridges/{seg(bridge_id)}"
        params = {"type": type if isinstance(type, str) else ",".join(type), "name": name}
        return Bridge.from_json(await self.request("bridges.create", "POST", path, params))

    async def get_bridge(self, bridge_id: str) -> Bridge:
        """The bridge's snapshot, with the channels in it."""
        return Bridge.from_json(
            await self.request("bridges.get", "GET", f"/bridges/{seg(bridge_id)}")
        )

    async def list_bridges(self) -> list[Bridge]:
        """Every bridge."""
        data = await self.request("bridges.list", "GET", "/bridges")
        return [Bridge.from_json(item) for item in data or ()]

    async def destroy_bridge(self, bridge_id: str, *, missing_ok: bool = False) -> bool:
        """Destroy a bridge; with ``missing_ok`` an already gone bridge returns False."""
        try:
            await self.request("bridges.destroy", "DELETE", f"/bridges/{seg(bridge_id)}")
        except AriNotFound:
            if not missing_ok:
                raise
            return False
        return True

    async def add_channel(
        self,
        bridge_id: str,
        channels: str | Iterable[str],
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        reply_timeout: float | None = None,
    ) -> None:
        """Add channels to a bridge (synchronous; waits behind a running playback)."""
        params = {
            "channel": channels if isinstance(channels, str) else ",".join(channels),
            "role": role,
            "absorbDTMF": absorb_dtmf,
            "mute": mute,
        }
        await self.request(
            "bridges.add_channel",
            "POST",
            f"/bridges/{seg(bridge_id)}/addChannel",
            params,
            reply_timeout=reply_timeout,
        )

    async def remove_channel(self, bridge_id: str, channels: str | Iterable[str]) -> None:
        """Remove channels from a bridge."""
        params = {"channel": channels if isinstance(channels, str) else ",".join(channels)}
        await self.request(
            "bridges.remove_channel", "POST", f"/bridges/{seg(bridge_id)}/removeChannel", params
        )

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        """Play media to everyone in the bridge."""
        path = f"/bridges/{seg(bridge_id)}/play"
        if playback_id is not None:
            path += f"/{seg(playback_id)}"
        params = {"media": _media(media), "lang": lang}
        return Playback.from_json(await self.request("bridges.play", "POST", path, params))

    async def record_bridge(
        self,
        bridge_id: str,
        name: str,
        format: str = "wav",
        *,
        if_exists: str | None = None,
        max_duration_seconds: int | None = None,
    ) -> LiveRecording:
        """Record the bridge's mix under ``name``."""
        params = {
            "name": name,
            "format": format,
            "ifExists": if_exists,
            "maxDurationSeconds": max_duration_seconds,
        }
        data = await self.request(
            "bridges.record", "POST", f"/bridges/{seg(bridge_id)}/record", params
        )
        return LiveRecording.from_json(data)

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        """Play music on hold to the bridge."""
        await self.request(
            "bridges.moh", "POST", f"/bridges/{seg(bridge_id)}/moh", {"mohClass": moh_class}
        )

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        """Stop the bridge's music on hold."""
        await self.request("bridges.moh_stop", "DELETE", f"/bridges/{seg(bridge_id)}/moh")

    # -- playbacks ---------------------------------------------------------------------------
    async def get_playback(self, playback_id: str) -> Playback:
        """A playback's state (AriNotFound once it has finished)."""
        return Playback.from_json(
            await self.request("playbacks.get", "GET", f"/playbacks/{seg(playback_id)}")
        )

    async def stop_playback(self, playback_id: str, *, missing_ok: bool = False) -> bool:
        """Stop a playback. A playback that has just finished is gone (404): with
        ``missing_ok`` that counts as success and returns False."""
        try:
            await self.request("playbacks.stop", "DELETE", f"/playbacks/{seg(playback_id)}")
        except AriNotFound:
            if not missing_ok:
                raise
            return False
        return True

    async def control_playback(self, playback_id: str, operation: str) -> None:
        """``restart``, ``pause``, ``unpause``, ``reverse`` or ``forward`` a playback."""
        await self.request(
            "playbacks.control",
            "POST",
            f"/playbacks/{seg(playback_id)}/control",
            {"operation": operation},
        )

    # -- applications ----------------------------------------------------------------------
    async def get_application(self, app: str) -> Application:
        """The application's subscriptions and event filter."""
        return Application.from_json(
            await self.request("applications.get", "GET", f"/applications/{seg(app)}")
        )

    async def subscribe(self, app: str, event_source: str | Iterable[str]) -> Application:
        """Subscribe the app to ``channel:<id>``, ``bridge:<id>``, ``endpoint:...`` sources."""
        source = event_source if isinstance(event_source, str) else ",".join(event_source)
        data = await self.request(
            "applications.subscribe",
            "POST",
            f"/applications/{seg(app)}/subscription",
            {"eventSource": source},
        )
        return Application.from_json(data)

    async def unsubscribe(self, app: str, event_source: str | Iterable[str]) -> Application:
        """Undo ``subscribe``."""
        source = event_source if isinstance(event_source, str) else ",".join(event_source)
        data = await self.request(
            "applications.unsubscribe",
            "DELETE",
            f"/applications/{seg(app)}/subscription",
            {"eventSource": source},
        )
        return Application.from_json(data)

    async def set_event_filter(
        self, app: str, allowed: Iterable[str] = (), disallowed: Iterable[str] = ()
    ) -> Application:
        """Let only these event types reach the app (cuts ~53 events per call to ~7).

        The filter belongs to the application and outlives the WebSocket: set it again on
        every connect. Empty ``allowed`` means every type.
        """
        allowed = list(allowed)
        if allowed and self.ws is not None and RESPONSE_EVENT not in allowed:
            allowed.append(RESPONSE_EVENT)  # the replies to requests sent on the socket
        body = {
            "allowed": [{"type": t} for t in allowed],
            "disallowed": [{"type": t} for t in disallowed],
        }
        data = await self.request(
            "applications.event_filter",
            "PUT",
            f"/applications/{seg(app)}/eventFilter",
            body=body,
        )
        if self.ws is not None:
            self.ws.probe()  # the filter may have dropped the first probe's reply
        return Application.from_json(data or {"name": app})

    # -- asterisk --------------------------------------------------------------------------
    async def info(self, only: Sequence[str] = ()) -> AsteriskInfo:
        """Asterisk's build, system, config and status (``only`` limits the sections)."""
        params = {"only": ",".join(only) if only else None}
        return AsteriskInfo.from_json(
            await self.request("asterisk.info", "GET", "/asterisk/info", params)
        )

    async def ping(self) -> AsteriskPing:
        """A cheap round trip proving Asterisk answers (health checks)."""
        return AsteriskPing.from_json(await self.request("asterisk.ping", "GET", "/asterisk/ping"))
