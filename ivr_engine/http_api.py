"""The engine's HTTP endpoint: metrics and health, with room for other routes.

- ``GET /metrics``: the Prometheus text exposition;
- ``GET /healthz``: 200 while the process serves requests (liveness);
- ``GET /readyz``: 200 when the ARI events WebSocket is connected and the database is
  reachable or the CDR journal is healthy, else 503 (readiness); the JSON body says why.

Other parts mount their own routes (SMS delivery webhook, the console) with
``HttpApi.add_routes`` and sub-applications (the admin API at ``/api``) with
``HttpApi.mount`` before the server starts, or pass them to ``start_http``.

    runner = await start_http(settings, engine, observability=obs)   # port 0: a free one
    bound_port(runner)
    await runner.cleanup()
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ivr_engine.observability import Observability

OBSERVABILITY_KEY = web.AppKey("observability", Observability)
STARTED_KEY = web.AppKey("started", float)

RouteDefs = Iterable[web.AbstractRouteDef]


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: every metric in the Prometheus text format."""
    obs = request.app[OBSERVABILITY_KEY]
    body = obs.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz_handler(request: web.Request) -> web.Response:
    """``GET /healthz``: the process is alive and its event loop answers."""
    started = request.app[STARTED_KEY]
    return web.json_response(
        {"status": "ok", "pid": os.getpid(), "uptime_seconds": round(time.time() - started, 3)}
    )


async def readyz_handler(request: web.Request) -> web.Response:
    """``GET /readyz``: 200 when ready to take calls, 503 otherwise; details in the body."""
    obs = request.app[OBSERVABILITY_KEY]
    ready, details = await obs.readiness()
    details["status"] = "ready" if ready else "not ready"
    return web.json_response(details, status=200 if ready else 503)


BASE_ROUTES: tuple[web.RouteDef, ...] = (
    web.get("/metrics", metrics_handler),
    web.get("/healthz", healthz_handler),
    web.get("/readyz", readyz_handler),
)


class HttpApi:
    """One aiohttp application: the base routes plus whatever other parts add."""

    def __init__(self, observability: Observability) -> None:
        self.app = web.Application()
        self.app[OBSERVABILITY_KEY] = observability
        self.app[STARTED_KEY] = time.time()
        self.app.router.add_routes(BASE_ROUTES)
        self.runner: web.AppRunner | None = None

    def mount(self, prefix: str, subapp: web.Application) -> None:
        """Serve a sub-application (the admin API) below ``prefix``; only before ``start``."""
        self.app.add_subapp(prefix, subapp)

    def add_routes(self, app_routes: RouteDefs) -> None:
        """Mount more routes (a ``web.RouteTableDef`` or a list of ``web.get(...)``);
        only before ``start``."""
        self.app.router.add_routes(app_routes)

    async def start(self, host: str, port: int) -> web.AppRunner:
        """Serve on ``host:port`` (0: a free port); returns the runner (``cleanup()`` it)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.runner = runner
        return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port a started runner listens on."""
    address: Any = runner.addresses[0]
    return int(address[1])


async def start_http(
    settings: Any,
    engine: Any,
    *,
    observability: Observability | None = None,
    routes: RouteDefs = (),
    subapps: Iterable[tuple[str, web.Application]] = (),
    install: Iterable[Callable[[web.Application], None]] = (),
) -> web.AppRunner:
    """Start the HTTP endpoint on ``settings.http_host:settings.http_port``.

    The observability is ``observability``, else ``engine.observability``, else a new one
    made for the engine (instrumenting its ARI client and call ends), whose background
    tasks then run as long as the server. Each of ``install`` is called with the
    application before it starts (the console adds its pages at ``/`` so).
    """
    obs = observability or getattr(engine, "observability", None)
    owned = obs is None
    if obs is None:
        obs = Observability.for_engine(engine)
    api = HttpApi(obs)
    api.add_routes(routes)
    for prefix, subapp in subapps:
        api.mount(prefix, subapp)
    for add in install:
        add(api.app)
    if owned:

        async def start_tasks(_app: web.Application) -> None:
            await obs.start()

        async def stop_tasks(_app: web.Application) -> None:
            await obs.stop()

        api.app.on_startup.append(start_tasks)
        api.app.on_cleanup.append(stop_tasks)
    return await api.start(settings.http_host, settings.http_port)
