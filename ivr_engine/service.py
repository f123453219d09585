"""The running call engine, put together in start order and taken apart in reverse:

database (migrated) -> config cache -> call-record writer (with the callback-SMS outbox)
-> SMS worker -> [built-in simulator] -> ARI
client and event stream -> call dispatcher (with the queue runtime) -> AMI (AstDB fallback
sync, agent device states) -> metrics, FastAGI and the HTTP endpoint.

    async with running_engine(settings) as engine:
        ...   # calls are served until the block ends; then new calls are refused,
              # calls in progress finish (or are handed back), records are flushed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ivr_engine import heap
from ivr_engine.api.app import MOUNT as API_MOUNT
from ivr_engine.api.app import ApiContext, build_api
from ivr_engine.api.outbound import DIALER
from ivr_engine.app import Database, open_config_cache, open_database
from ivr_engine.asterisk.agi.server import AgiServer, start_agi_server
from ivr_engine.asterisk.ami.client import AmiClient
from ivr_engine.asterisk.ari.client import AriClient
from ivr_engine.asterisk.ari.stream import EventStream
from ivr_engine.calls.agent_state import AgentTimers, DeviceStateWatcher
from ivr_engine.calls.agi_route import SCRIPT as AGI_ROUTE
from ivr_engine.calls.agi_route import AgiRouteHandler
from ivr_engine.calls.dispatcher import CallDispatcher
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.media import PromptMedia
from ivr_engine.calls.outbound_engine import EngineDialer
from ivr_engine.calls.queue_metrics import QueueMetrics
from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.console.app import install_console
from ivr_engine.domain.planner import plan_call
from ivr_engine.fallback_sync import FallbackSync
from ivr_engine.http_api import start_http
from ivr_engine.metrics import Metrics
from ivr_engine.observability import Observability
from ivr_engine.prompts.names import engine_for
from ivr_engine.settings import Settings
from ivr_engine.sim import SimConfig, Simulator
from ivr_engine.sms.metrics import SmsMetrics
from ivr_engine.sms.outbox import SmsOutbox
from ivr_engine.sms.runtime import running_sms_worker, sms_settings_of
from ivr_engine.sms.webhook import webhook_routes
from ivr_engine.sms.worker import SmsWorker
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.cdr_writer import CdrWriter, open_cdr_writer
from ivr_engine.store.minute_sweep import ReservationSweep
from ivr_engine.store.minutes import settle_outbound
from ivr_engine.store.outbound_desk import PgOutboundDesk
from ivr_engine.store.repos import PgAgentRepo, PgCallbackRepo, PgQueueRepo

log = logging.getLogger(__name__)


@dataclass
class RunningEngine:
    """Handles on a started engine (for the CLI, the demo and tests)."""

    settings: Settings
    db: Database
    cache: ConfigCache
    cdr: CdrWriter
    ari: AriClient
    stream: EventStream
    dispatcher: CallDispatcher
    env: CallEnv
    metrics: Metrics
    queues: QueueRuntime
    sms: SmsWorker
    sim: Simulator | None = None
    ami: AmiClient | None = None
    fallback: FallbackSync | None = None
    observability: Observability | None = None
    http: web.AppRunner | None = None
    agi: AgiServer | None = None
    timers: AgentTimers | None = None  # the queues' periodic task (wrap-ups, deferred writes)
    dialer: EngineDialer | None = None  # the engine's own outbound calls (API, access number)


def simulator_config(
    settings: Settings, speed: float = 1.0, ports: tuple[int, int] = (0, 0)
) -> SimConfig:
    """The built-in simulator for an engine with no Asterisk configured: the given ports
    (0: any free one), the engine's credentials and app, and the engine's sounds."""
    sounds = Path(settings.prompts.sounds_dir).expanduser()
    return SimConfig(
        ari_port=ports[0],
        ami_port=ports[1],
        ari_user=settings.ari.user,
        ari_password=settings.ari.password,
        ami_user=settings.ami.user,
        ami_secret=settings.ami.secret,
        speed=speed,
        trunk=settings.ari.trunk,
        default_app=settings.ari.app,
        sounds_dirs=(str(sounds), str(sounds / "sim")),
    )


def call_env(
    settings: Settings, ari: AriClient, stream: EventStream, cache: ConfigCache
) -> CallEnv:
    """The shared environment of every call session."""
    media = PromptMedia(
        settings.prompts.voice, engine_for(settings.prompts.engine, settings.prompts.gtts_enabled)
    )
    return CallEnv(
        ari=ari,
        events=stream,
        configs=cache,
        app=settings.ari.app,
        trunk=settings.ari.trunk,
        media=media,
        node=settings.node,
    )


async def _connect_ami(settings: Settings, sim: Simulator | None) -> AmiClient | None:
    """The AMI connection (to the built-in simulator when no AMI host is set), or None when
    there is none to make or it cannot be made now (logged: calls are served without it)."""
    host, port = settings.ami.host, settings.ami.port
    if sim is not None and not host:
        host, port = sim.config.host, sim.ami_port
    if not host:
        return None
    ami = AmiClient(
        host,
        port,
        settings.ami.user,
        settings.ami.secret,
        event_filter=settings.ami.event_filter,
    )
    try:
        await asyncio.wait_for(ami.connect(), 10)
    except Exception as exc:
        log.error(
            "AMI at %s:%s unavailable (%s): the AstDB fallback table and agent device "
            "states are not kept up to date",
            host,
            port,
            exc,
        )
        await ami.close()
        return None
    return ami


@asynccontextmanager
async def running_engine(
    settings: Settings,
    *,
    sim_speed: float = 1.0,
    drain_timeout: float = 10.0,
    connect_timeout: float = 15.0,
    sim_ports: tuple[int, int] = (0, 0),
    http: bool = True,
) -> AsyncIterator[RunningEngine]:
    """Start everything in order, yield, then stop in reverse order."""
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_database(settings, migrate=True))
        cache = await stack.enter_async_context(open_config_cache(db))
        await cache.preload()
        cdr = await stack.enter_async_context(open_cdr_writer(db, settings))
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
        stream = EventStream(
            url,
            settings.ari.user,
            settings.ari.password,
            settings.ari.app,
            rest_over_websocket=settings.ari.rest_over_websocket,
        )
        ari.use_websocket(stream.rest)
        env = call_env(settings, ari, stream, cache)
        env.on_end = cdr.on_call_end
        env.callbacks = PgCallbackRepo(db.pool)
        # A callback text is decided and queued in the same transaction as its call record.
        cdr.add_companion(SmsOutbox(cache, clock=lambda: env.clock()))
        # An outbound call's minutes are settled in the same transaction as its record.
        cdr.add_companion(settle_outbound)
        sms = await stack.enter_async_context(
            running_sms_worker(
                db.pool, db.url, sms_settings_of(settings), clock=lambda: env.clock()
            )
        )
        metrics = Metrics()
        queue_calls = PgQueueRepo(db.pool)
        queue_metrics = QueueMetrics(queue_calls, metrics.registry)
        queues = QueueRuntime(PgAgentRepo(db.pool), queue_calls, node=settings.node)
        env.queues = queues
        dispatcher = CallDispatcher(env)
        env.outbound = PgOutboundDesk(db.pool)
        env.time_scale = sim_speed if sim is not None else 1.0
        dialer = EngineDialer(env, env.outbound, dispatcher.outbound_calls)
        env.dialer = dialer
        dispatcher.attach(stream)
        stack.push_async_callback(stream.stop)
        stack.push_async_callback(dialer.close)  # before the stream stops: legs hung up
        await stream.start()
        await stream.wait_connected(connect_timeout)
        log.info("connected to ARI at %s as app %s", url, settings.ari.app)
        engine = RunningEngine(
            settings, db, cache, cdr, ari, stream, dispatcher, env, metrics, queues, sms, sim
        )
        engine.dialer = dialer
        await _start_side_services(engine, stack, queue_metrics, http=http)
        heap.settle()
        try:
            yield engine
        finally:
            await dispatcher.drain(drain_timeout)


async def _start_side_services(
    engine: RunningEngine, stack: AsyncExitStack, queue_metrics: QueueMetrics, *, http: bool
) -> None:
    """AMI and what rides on it, agent timers, metrics and the HTTP endpoint."""
    env, db = engine.env, engine.db
    engine.ami = await _connect_ami(engine.settings, engine.sim)
    if engine.ami is not None:
        stack.push_async_callback(engine.ami.close)
    obs = Observability.for_engine(engine, engine.metrics)
    engine.observability = obs
    obs.register_cdr_stats(engine.cdr)
    env.planner = obs.timed_planner(plan_call)
    if engine.ami is not None:
        engine.fallback = FallbackSync(engine.ami, db.pool, engine.cache, metrics=obs.metrics)
        await engine.fallback.start()
        stack.push_async_callback(engine.fallback.stop)
        obs.register_fallback_sync(engine.fallback)
        await DeviceStateWatcher(
            engine.queues.agents, engine.ami, lambda _e, _r: engine.queues.notify()
        ).start()
    sms_metrics = SmsMetrics(db.pool, engine.metrics.registry, clock=lambda: env.clock())
    sms_metrics.start()
    stack.push_async_callback(sms_metrics.stop)
    sweep = ReservationSweep(db.pool, lambda: env.clock())
    sweep.start()
    stack.push_async_callback(sweep.stop)
    engine.timers = AgentTimers(engine.queues, lambda: env.clock(), refresh=queue_metrics.refresh)
    engine.timers.start()
    stack.push_async_callback(engine.timers.stop)
    await obs.start()
    stack.push_async_callback(obs.stop)
    s = engine.settings
    if s.agi.port:  # FastAGI for classic dialplans; 0 switches it off
        engine.agi = await start_agi_server(
            {AGI_ROUTE: AgiRouteHandler.for_env(env)}, s.agi.host, s.agi.port
        )
        if engine.agi is not None:
            stack.push_async_callback(engine.agi.stop)
    if http:
        webhook = webhook_routes(db.pool, token=sms_settings_of(engine.settings).webhook_token)
        ctx = ApiContext(
            db.pool,
            timezone=s.timezone,
            clock=lambda: env.clock(),
            prompts_dir=s.prompts.sounds_dir,
            voice=s.prompts.voice,
            extras={DIALER: engine.dialer},  # the API's click-to-call places calls here
        )
        engine.http = await start_http(
            engine.settings,
            engine,
            observability=obs,
            routes=webhook,
            subapps=[(API_MOUNT, build_api(ctx))],
            install=[lambda app: install_console(app, ctx)],
        )
        stack.push_async_callback(engine.http.cleanup)
