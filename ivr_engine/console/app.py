"""Mounting the console on the engine's HTTP application, at ``/``.

    install_console(http_app, ctx)     # before the server starts; the API is at /api

The console's routes go on the main application itself (a sub-application cannot have
the prefix ``/``); its templates are kept under their own key so nothing else of the
application is touched.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from ivr_engine.api.context import CONTEXT_KEY, ApiContext
from ivr_engine.console import (
    pages_admin,
    pages_auth,
    pages_dashboard,
    pages_members,
    pages_numbers,
    pages_outbound,
    pages_records,
    pages_stats,
)
from ivr_engine.console.agents import AgentFeed, feed_key
from ivr_engine.console.agents import pages as agent_pages
from ivr_engine.console.web import TEMPLATES_KEY, ConsoleRoutes

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


def all_pages() -> ConsoleRoutes:
    """Every page of the console."""
    routes = ConsoleRoutes()
    for module in (
        pages_auth,
        pages_dashboard,
        pages_numbers,
        pages_records,
        pages_outbound,
        pages_members,
        pages_stats,
        pages_admin,
    ):
        routes.pages.extend(module.pages.pages)
    routes.pages.extend(agent_pages.pages)
    return routes


def install_console(app: web.Application, ctx: ApiContext) -> None:
    """Add the console's pages, static files and live agent feed to ``app``."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        app_key=TEMPLATES_KEY,
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["static"] = lambda name: f"/static/{name}"
    if CONTEXT_KEY not in app:
        app[CONTEXT_KEY] = ctx
    feed = AgentFeed(ctx.pool)
    app[feed_key] = feed
    app.router.add_routes(pages_auth.ROUTES)
    app.router.add_routes(all_pages().route_defs())
    app.router.add_static("/static", STATIC, append_version=False)

    async def stop_feed(_app: web.Application) -> None:
        await feed.stop()

    app.on_shutdown.append(stop_feed)
