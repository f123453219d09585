"""The admin API as an aiohttp sub-application, mounted at ``/api`` of the engine's HTTP
endpoint: ``/api/v1/...`` and ``/api/openapi.json``.

    api = build_api(ApiContext(pool))
    http_app.add_subapp("/api", api)
"""

from __future__ import annotations

from aiohttp import web

from ivr_engine.api import (
    admin,
    calls,
    contact,
    flows,
    members,
    numbers,
    outbound,
    prompts,
    session,
    sms,
    stats,
)
from ivr_engine.api.auth import auth_middleware
from ivr_engine.api.common import respond
from ivr_engine.api.context import CONTEXT_KEY, ApiContext
from ivr_engine.api.errors import error_middleware
from ivr_engine.api.openapi import openapi_document
from ivr_engine.api.registry import MOUNT, ApiRoutes

MODULES = (session, numbers, admin, flows, contact, sms, prompts, calls, stats, outbound, members)


def all_routes(extra: tuple[ApiRoutes, ...] = ()) -> ApiRoutes:
    """Every endpoint of the API."""
    routes = ApiRoutes()
    for module in MODULES:
        routes.extend(module.routes)
    for more in extra:
        routes.extend(more)
    return routes


def build_api(ctx: ApiContext, extra: tuple[ApiRoutes, ...] = ()) -> web.Application:
    """The API's sub-application (errors as typed JSON, principals resolved first)."""
    routes = all_routes(extra)
    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[CONTEXT_KEY] = ctx
    app.router.add_routes(routes.route_defs())
    document = openapi_document(routes)

    async def openapi(_request: web.Request) -> web.StreamResponse:
        return respond(document)

    app.router.add_get("/openapi.json", openapi)
    return app


__all__ = ["MOUNT", "ApiContext", "build_api"]
