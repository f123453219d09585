"""The Simulator facade: starts the simulated Asterisk (ARI, AMI, control API) in-process.

sim = Simulator(SimConfig(ari_port=0, ami_port=0, speed=20))
await sim.start()
call = await sim.place_call(to="05051234567", caller="01020003000")
await call.wait_ended(timeout=5)
sim.timeline(call.channel_id)
await sim.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr_engine.sim.ari_events import AppRegistry
from ivr_engine.sim.ari_server import AriServer
from ivr_engine.sim.behaviour import Behaviour
from ivr_engine.sim.clock import SimClock
from ivr_engine.sim.model import Bridge, Channel
from ivr_engine.sim.sounds import SoundLibrary
from ivr_engine.sim.timeline import MediaEvent
from ivr_engine.sim.world import World

if TYPE_CHECKING:
    from ivr_engine.sim.ami_server import AmiServer


@dataclass(frozen=True)
class SimConfig:
    """Where the simulator listens, its credentials, its speed and its world."""

    host: str = "127.0.0.1"
    ari_port: int = 8088
    ami_port: int = 5038
    ari_user: str = "ivr"
    ari_password: str = "ivr-secret"
    ami_user: str = "ivr"
    ami_secret: str = "ivr-secret"
    speed: float = 1.0
    trunk: str = "carrier"
    sounds_dirs: tuple[str, ...] = ("sounds", "sounds/sim")
    inbound_context: str = "from-carrier"
    default_app: str = "ivr-engine"
    language: str = "en"
    timezone: str = "UTC"
    asterisk_version: str = "22.10.1"
    ami_version: str = "11.0.0"
    entity_id: str = "02:fc:00:00:00:01"
    system_name: str = "ivr-sim"
    stasis_start_delay: float = 0.002
    destroy_delay: float = 0.0  # StasisEnd of a hung-up channel to its destruction (sim s)
    ami_enabled: bool = True
    default_behaviour: Behaviour = field(default_factory=lambda: Behaviour.answer_after(1.0))


class SimCall:
    """An inbound call placed by a test or ``ivr-engine call``: the caller's side."""

    def __init__(self, sim: Simulator, channel: Channel) -> None:
        self.sim = sim
        self.channel = channel
        self.channel_id = channel.id

    async def wait_ended(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait (wall seconds) until the caller's channel is gone; TimeoutError otherwise."""
        await asyncio.wait_for(self.channel.ended.wait(), timeout)

    async def hangup(self) -> None:
        """The caller hangs up: BYE once answered, CANCEL before."""
        self.sim.world.caller_hangs_up(self.channel)

    @property
    def ended(self) -> bool:
        """True once the caller's channel is gone."""
        return self.channel.gone

    @property
    def timeline(self) -> list[MediaEvent]:
        """What the caller heard and did."""
        return self.sim.timeline(self.channel_id)

    def callees(self) -> list[str]:
        """Channel ids of the legs that belong to this call (dialled, bridged)."""
        return list(self.sim.world.related.get(self.channel_id, []))


class Simulator:
    """A simulated Asterisk with a scripted carrier trunk, over real sockets."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = SimClock(self.config.speed, _zone(self.config.timezone))
        self.registry = AppRegistry(self.config.entity_id)
        self.world = World(
            self.clock,
            SoundLibrary(self.config.sounds_dirs),
            self.registry,
            trunk=self.config.trunk,
            inbound_context=self.config.inbound_context,
            language=self.config.language,
            host=self.config.host,
            default_behaviour=self.config.default_behaviour,
            stasis_start_delay=self.config.stasis_start_delay,
            destroy_delay=self.config.destroy_delay,
        )
        self._runner: web.AppRunner | None = None
        self._ari_port = 0
        self.ami: AmiServer | None = None
        self._ami_port = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind the ARI (with the control API) and AMI ports; port 0 picks a free one."""
        from ivr_engine.sim.sim_api import control_routes

        cfg = self.config
        ari = AriServer(
            self.world,
            cfg.ari_user,
            cfg.ari_password,
            version=cfg.asterisk_version,
            entity_id=cfg.entity_id,
            system_name=cfg.system_name,
        )
        app = ari.build(control_routes(self))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.ari_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # asyncio's Server or uvloop's
        assert sockets, "the ARI site has no listening socket"
        self._ari_port = sockets[0].getsockname()[1]
        if cfg.ami_enabled:
            from ivr_engine.sim.ami_server import AmiServer

            self.ami = AmiServer(
                self.world,
                cfg.ami_user,
                cfg.ami_secret,
                version=cfg.ami_version,
                system_name=cfg.system_name,
            )
            self._ami_port = await self.ami.start(cfg.host, cfg.ami_port)

    async def stop(self) -> None:
        """Close every socket and end every simulated task."""
        for ch in list(self.world.all_channels.values()):
            for task in ch.tasks:
                task.cancel()
            if ch.control is not None:
                ch.control.close()
        for bridge in self.world.bridges.values():
            if bridge.control is not None:
                bridge.control.close()
        if self.ami is not None:
            await self.ami.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        tasks = [t for ch in self.world.all_channels.values() for t in ch.tasks]
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ addresses
    @property
    def ari_port(self) -> int:
        """The bound ARI port."""
        return self._ari_port

    @property
    def ari_url(self) -> str:
        """``http://host:port/ari``."""
        return f"http://{self.config.host}:{self._ari_port}/ari"

    @property
    def control_url(self) -> str:
        """``http://host:port/sim``: the control API ``ivr-engine call`` uses."""
        return f"http://{self.config.host}:{self._ari_port}/sim"

    @property
    def ami_port(self) -> int:
        """The bound AMI port."""
        return self._ami_port

    # ------------------------------------------------------------------ the world
    def set_behaviour(self, number: str, behaviour: Behaviour) -> None:
        """Script how the far end ``number`` (``PJSIP/<number>@<trunk>``) answers."""
        self.world.behaviours[number] = behaviour

    async def place_call(
        self,
        to: str,
        caller: str,
        *,
        app: str | None = None,
        app_args: tuple[str, ...] = ("inbound",),
        dtmf: tuple[tuple[float, str], ...] = (),
        hangup_after: float | None = None,
        caller_name: str = "",
    ) -> SimCall:
        """An inbound SIP call into ``Stasis(<app>,<args>)`` via the inbound context.

        ``dtmf`` times and ``hangup_after`` are simulated seconds from the call's start.
        """
        ch = self.world.inbound_call(
            to, caller, app or self.config.default_app, list(app_args), caller_name
        )
        for at, digits in dtmf:
            self.world.spawn(ch, self.world._send_digits(ch, at, digits))
        if hangup_after is not None:
            self.world.spawn(ch, self._hangup_later(ch, hangup_after))
        return SimCall(self, ch)

    async def _hangup_later(self, ch: Channel, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self.world.caller_hangs_up(ch)

    async def wait_app(self, app: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait (wall seconds) until a client has ``app`` registered over the WebSocket."""
        await asyncio.wait_for(self.registry.registered_event(app).wait(), timeout)

    async def wait_bridged(self, channel_id: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once the channel has entered a bridge (TimeoutError after ``timeout``)."""
        entered = self.world.entered_bridge.setdefault(channel_id, asyncio.Event())
        async with asyncio.timeout(timeout):
            await entered.wait()

    def timeline(self, channel_id: str) -> list[MediaEvent]:
        """What the party on that channel heard and did (kept after hangup)."""
        timeline = self.world.timelines.get(channel_id)
        return list(timeline.entries) if timeline else []

    @property
    def channels(self) -> Mapping[str, Channel]:
        """Live channels by id (read-only view)."""
        return MappingProxyType(self.world.channels)

    @property
    def bridges(self) -> Mapping[str, Bridge]:
        """Live bridges by id (read-only view)."""
        return MappingProxyType(self.world.bridges)

    @property
    def astdb(self) -> dict[str, str]:
        """AstDB as ``"family/key" -> value`` (writable: tests seed fallback targets)."""
        return self.world.astdb


def _zone(name: str) -> tzinfo | None:
    return None if name.upper() in ("UTC", "") else ZoneInfo(name)
