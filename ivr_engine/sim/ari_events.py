"""Stasis applications, their subscriptions and event filters, and event delivery.

An application exists while at least one events WebSocket is connected for it. The app is
subscribed to a channel by reference count, as ``res/stasis/app.c`` does: entering Stasis
adds one (removed again at StasisEnd), ``/channels/create`` / originate add one, an
``originator`` adds one, ``POST /applications/{app}/subscription`` adds one. So a plain inbound
channel is forgotten at StasisEnd (no ChannelDestroyed), while a created leg is not.
The event filter (``PUT /applications/{app}/eventFilter``) belongs to the application name and
outlives the WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger("ivr_engine.sim.ari")

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class EventFilter:
    """Allowed / disallowed event type lists of one application."""

    allowed: list[dict[str, Any]] = field(default_factory=list)
    disallowed: list[dict[str, Any]] = field(default_factory=list)

    def passes(self, event_type: str) -> bool:
        """Whether an event of this type reaches the application."""
        if self.allowed and not any(f.get("type") == event_type for f in self.allowed):
            return False
        return not any(f.get("type") == event_type for f in self.disallowed)


class EventSocket:
    """One connected events WebSocket with its own ordered send queue."""

    def __init__(self, ws: web.WebSocketResponse, apps: list[str], subscribe_all: bool) -> None:
        self.ws = ws
        self.apps = apps
        self.subscribe_all = subscribe_all
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def writer(self) -> None:
        """Send queued events in order until told to stop or the socket closes."""
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


@dataclass
class App:
    """A Stasis application and what it is subscribed to."""

    name: str
    socket: EventSocket | None = None
    channels: Counter[str] = field(default_factory=Counter)
    bridges: Counter[str] = field(default_factory=Counter)
    endpoints: Counter[str] = field(default_factory=Counter)
    devices: Counter[str] = field(default_factory=Counter)

    @property
    def active(self) -> bool:
        """True while a WebSocket is connected for the application."""
        return self.socket is not None

    def to_json(self, filt: EventFilter) -> dict[str, Any]:
        """The ARI Application object."""
        return {
            "name": self.name,
            "channel_ids": sorted(+self.channels),
            "bridge_ids": sorted(+self.bridges),
            "endpoint_ids": sorted(+self.endpoints),
            "device_names": sorted(+self.devices),
            "events_allowed": filt.allowed,
            "events_disallowed": filt.disallowed,
        }


class AppRegistry:
    """All Stasis applications of the simulator and event routing to them."""

    def __init__(self, asterisk_id: str) -> None:
        self.asterisk_id = asterisk_id
        self.apps: dict[str, App] = {}
        self.filters: dict[str, EventFilter] = {}
        self.registered: dict[str, asyncio.Event] = {}

    def registered_event(self, name: str) -> asyncio.Event:
        """An event set while the application has a WebSocket connected."""
        return self.registered.setdefault(name, asyncio.Event())

    def app(self, name: str) -> App:
        """The application record (created on first use, active or not)."""
        if name not in self.apps:
            self.apps[name] = App(name)
        return self.apps[name]

    def is_active(self, name: str) -> bool:
        """Whether a client has the application registered (a WebSocket is connected)."""
        app = self.apps.get(name)
        return bool(app and app.active)

    def active_apps(self) -> list[App]:
        """Applications with a connected WebSocket."""
        return [a for a in self.apps.values() if a.active]

    def filter_of(self, name: str) -> EventFilter:
        """The application's event filter."""
        return self.filters.setdefault(name, EventFilter())

    def attach(self, sock: EventSocket, timestamp: str) -> None:
        """Register a WebSocket for its applications; an older one for the same app is replaced."""
        for name in sock.apps:
            app = self.app(name)
            old = app.socket
            app.socket = sock
            self.registered_event(name).set()
            if old is not None and old is not sock:
                self._send(old, name, {"type": "ApplicationReplaced", "timestamp": timestamp})

    def detach(self, sock: EventSocket) -> None:
        """Forget a closed WebSocket; its applications become inactive."""
        for name in sock.apps:
            app = self.apps.get(name)
            if app and app.socket is sock:
                app.socket = None
                self.registered_event(name).clear()

    def subscribe(self, app: str, kind: str, oid: str) -> None:
        """Add one reference to the app's subscription to a channel / bridge / endpoint."""
        getattr(self.app(app), kind)[oid] += 1

    def unsubscribe(self, app: str, kind: str, oid: str, *, all_refs: bool = False) -> None:
        """Drop one reference (or all) to a subscription."""
        counter: Counter[str] = getattr(self.app(app), kind)
        if all_refs or counter[oid] <= 1:
            counter.pop(oid, None)
        else:
            counter[oid] -= 1

    def forget(self, kind: str, oid: str) -> None:
        """An object is gone: drop every application's subscription to it."""
        for app in self.apps.values():
            getattr(app, kind).pop(oid, None)

    def deliver(
        self,
        event: dict[str, Any],
        timestamp: str,
        channels: tuple[str, ...] = (),
        bridges: tuple[str, ...] = (),
    ) -> int:
        """Send an event to every active application subscribed to one of its objects."""
        sent = 0
        for app in self.active_apps():
            sock = app.socket
            assert sock is not None
            wanted = (
                sock.subscribe_all
                or any(app.channels.get(c) for c in channels)
                or any(app.bridges.get(b) for b in bridges)
            )
            if wanted and self.filter_of(app.name).passes(event["type"]):
                self._send(sock, app.name, {**event, "timestamp": timestamp})
                sent += 1
        return sent

    def respond(self, sock: EventSocket, event: dict[str, Any], timestamp: str) -> bool:
        """Send a RESTResponse on the socket its request came on. It passes the event filter
        of the socket's first application, like an event (dropped when that filter's
        ``allowed`` list lacks RESTResponse, or while another socket holds the app)."""
        app = self.apps.get(sock.apps[0])
        if (
            app is None
            or app.socket is not sock
            or not self.filter_of(app.name).passes(event["type"])
        ):
            return False
        self._send(sock, app.name, {**event, "timestamp": timestamp})
        return True

    def _send(self, sock: EventSocket, app: str, event: dict[str, Any]) -> None:
        body = {k: v for k, v in event.items() if v is not None}
        body["asterisk_id"] = self.asterisk_id
        body["application"] = app
        sock.queue.put_nowait(_DUMPS(body))
