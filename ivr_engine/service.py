"""The running call engine: database and config cache, ARI client and event stream, the
call dispatcher, and (when no Asterisk is configured) the built-in simulator.

    async with running_engine(settings) as engine:
        ...   # calls are served until the block ends; then new calls are refused,
              # calls in progress finish (or are handed back) and everything closes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ivr_engine.app import Database, open_config_cache, open_database
from ivr_engine.asterisk.ari.client import AriClient
from ivr_engine.asterisk.ari.stream import EventStream
from ivr_engine.calls.dispatcher import CallDispatcher
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.media import PromptMedia
from ivr_engine.prompts.names import engine_for
from ivr_engine.settings import Settings
from ivr_engine.sim import SimConfig, Simulator
from ivr_engine.store.cache import ConfigCache

log = logging.getLogger(__name__)


@dataclass
class RunningEngine:
    """Handles on a started engine (for the CLI, the demo and tests)."""

    settings: Settings
    db: Database
    cache: ConfigCache
    ari: AriClient
    stream: EventStream
    dispatcher: CallDispatcher
    env: CallEnv
    sim: Simulator | None = None


def simulator_config(settings: Settings, speed: float = 1.0,
                     ports: tuple[int, int] = (0, 0)) -> SimConfig:
    """The built-in simulator for an engine with no Asterisk configured: the given ports
    (0: any free one), the engine's credentials and app, and the engine's sounds."""
    sounds = Path(settings.prompts.sounds_dir).expanduser()
    return SimConfig(ari_port=ports[0], ami_port=ports[1], ari_user=settings.ari.user,
                     ari_password=settings.ari.password, ami_user=settings.ami.user,
                     ami_secret=settings.ami.secret, speed=speed, trunk=settings.ari.trunk,
                     default_app=settings.ari.app,
                     sounds_dirs=(str(sounds), str(sounds / "sim")))


def call_env(settings: Settings, ari: AriClient, stream: EventStream,
             cache: ConfigCache) -> CallEnv:
    """The shared environment of every call session."""
    media = PromptMedia(settings.prompts.voice,
                        engine_for(settings.prompts.engine, settings.prompts.gtts_enabled))
    return CallEnv(ari=ari, events=stream, configs=cache, app=settings.ari.app,
                   trunk=settings.ari.trunk, media=media, node=settings.node)


@asynccontextmanager
async def running_engine(settings: Settings, *, sim_speed: float = 1.0,
                         drain_timeout: float = 10.0, connect_timeout: float = 15.0,
                         sim_ports: tuple[int, int] = (0, 0)) -> AsyncIterator[RunningEngine]:
    """Start everything in order, yield, then stop in reverse order."""
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_database(settings, migrate=True))
        cache = await stack.enter_async_context(open_config_cache(db))
        await cache.preload()
        sim: Simulator | None = None
        url = settings.ari.url
        if not url:
            sim = Simulator(simulator_config(settings, sim_speed, sim_ports))
            await sim.start()
            stack.push_async_callback(sim.stop)
            url = sim.ari_url
            log.info("no ARI URL configured: serving the built-in simulator at %s", url)
        ari = AriClient(url, settings.ari.user, settings.ari.password)
        stack.push_async_callback(ari.close)
        stream = EventStream(url, settings.ari.user, settings.ari.password, settings.ari.app)
        env = call_env(settings, ari, stream, cache)
        dispatcher = CallDispatcher(env)
        dispatcher.attach(stream)
        stack.push_async_callback(stream.stop)
        await stream.start()
        await stream.wait_connected(connect_timeout)
        log.info("connected to ARI at %s as app %s", url, settings.ari.app)
        engine = RunningEngine(settings, db, cache, ari, stream, dispatcher, env, sim)
        try:
            yield engine
        finally:
            await dispatcher.drain(drain_timeout)
