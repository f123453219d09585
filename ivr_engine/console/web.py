"""The console's routes table and what every page handler works with.

    pages = ConsoleRoutes()

    @pages.get("/numbers", "numbers.read")
    async def numbers(page: ConsolePage) -> web.StreamResponse:
        return page.render("numbers.html", rows=...)

The wrapper resolves the signed-in user from the session cookie (a browser without one is
sent to the sign-in page), refuses a role without the permission with a 403 page, checks
the CSRF token of every POST form, and turns the engine's typed errors into pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from ivr_engine.api.auth import csrf_ok, principal_of
from ivr_engine.api.context import CONTEXT_KEY, ApiContext
from ivr_engine.api.errors import ApiError
from ivr_engine.console.fmt import local_time, minutes_label
from ivr_engine.console.i18n import pick_language, translator
from ivr_engine.domain.access import ROLE_LABELS, Principal, Reach, allows, reach_of
from ivr_engine.domain.numbers import mask
from ivr_engine.errors import IvrError, NotFoundError
from ivr_engine.store.audit import Actor

TEMPLATES_KEY = web.AppKey("console_templates", jinja2.Environment)
LANG_COOKIE = "ivr_lang"

# (path, message key, permission): the navigation, shown only where the role may go.
NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "nav.dashboard", "tenants.read"),
    ("/numbers", "nav.numbers", "numbers.read"),
    ("/records", "nav.records", "calls.read"),
    ("/members", "nav.members", "members.read"),
    ("/minutes", "nav.minutes", "minutes.read"),
    ("/stats", "nav.stats", "stats.read"),
    ("/agents", "nav.agents", "agents.read"),
    ("/menus", "nav.menus", "numbers.read"),
    ("/sms", "nav.sms", "sms.read"),
    ("/audit", "nav.audit", "audit.read"),
    ("/users", "nav.users", "users.read"),
)


@dataclass
class ConsolePage:
    """One request of a signed-in user: who, in which language and zone, with which form."""

    request: web.Request
    principal: Principal
    ctx: ApiContext
    csrf: str
    lang: str
    zone: ZoneInfo
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def reach(self) -> Reach:
        """The principal's SQL filters."""
        return reach_of(self.principal)

    @property
    def address(self) -> str:
        """The browser's address."""
        return self.request.remote or ""

    @property
    def actor(self) -> Actor:
        """The audit log's view of the user."""
        return Actor(self.principal.actor, "console", self.principal.user_id, self.address)

    def t(self, key: str) -> str:
        """A message in the page's language."""
        return translator(self.lang)(key)

    def may(self, permission: str) -> bool:
        """Whether the user's role allows ``permission``."""
        return allows(self.principal, permission)

    def query(self, name: str, default: str = "") -> str:
        """A query parameter, stripped."""
        return self.request.query.get(name, default).strip()

    def when(self, value: datetime | None) -> str:
        """A time in the user's tenant zone, with its offset."""
        return local_time(value, self.zone)

    def render(self, template: str, http_status: int = 200, **context: Any) -> web.Response:
        """A page from a template, with the layout's context filled in."""
        base = {
            "t": self.t,
            "lang": self.lang,
            "principal": self.principal,
            "role_label": ROLE_LABELS[self.principal.role][1 if self.lang == "en" else 0],
            "csrf": self.csrf,
            "nav": [(p, k) for p, k, perm in NAV if self.may(perm)],
            "path": self.request.path,
            "when": self.when,
            "may": self.may,
            "other_lang": "en" if self.lang == "ko" else "ko",
            "mask": mask,
            "minutes": lambda seconds: minutes_label(int(seconds), self.lang),
        }
        base.update(context)
        response = aiohttp_jinja2.render_template(
            template, self.request, base, app_key=TEMPLATES_KEY, status=http_status
        )
        if self.request.query.get("lang") in ("ko", "en"):
            response.set_cookie(LANG_COOKIE, self.lang, path="/", samesite="Lax", httponly=True)
        return response


PageHandler = Callable[[ConsolePage], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Page:
    """One declared page."""

    method: str
    path: str
    permission: str
    handler: PageHandler


@dataclass
class ConsoleRoutes:
    """The table of pages."""

    pages: list[Page] = field(default_factory=list)

    def add(self, method: str, path: str, permission: str) -> Callable[[PageHandler], PageHandler]:
        """Declare a page (a decorator)."""

        def deco(handler: PageHandler) -> PageHandler:
            self.pages.append(Page(method, path, permission, handler))
            return handler

        return deco

    def get(self, path: str, permission: str) -> Callable[[PageHandler], PageHandler]:
        """Declare a GET page."""
        return self.add("GET", path, permission)

    def post(self, path: str, permission: str) -> Callable[[PageHandler], PageHandler]:
        """Declare a form handler (POST, CSRF-checked)."""
        return self.add("POST", path, permission)

    def route_defs(self) -> list[web.RouteDef]:
        """The aiohttp routes, each wrapped with sign-in, permission and CSRF checks."""
        return [web.route(p.method, p.path, _wrap(p)) for p in self.pages]


def language_of(request: web.Request, user_language: str | None) -> str:
    """The language of a request (``?lang=``, cookie, the user's, Korean)."""
    return pick_language(request.query.get("lang"), request.cookies.get(LANG_COOKIE), user_language)


def error_page(request: web.Request, lang: str, status: int, message: str) -> web.Response:
    """A plain page for an error (no navigation: the user may not be signed in)."""
    return aiohttp_jinja2.render_template(
        "error.html",
        request,
        {"t": translator(lang), "lang": lang, "status": status, "message": message},
        app_key=TEMPLATES_KEY,
        status=status,
    )


def to_login(request: web.Request) -> NoReturn:
    """Send the browser to the sign-in page, coming back here afterwards."""
    target = request.path_qs if request.method == "GET" else "/"
    raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")


async def tenant_zone(ctx: ApiContext, tenant_id: str | None) -> ZoneInfo:
    """The zone times are shown in: the tenant's, else the platform's."""
    if tenant_id is not None:
        async with ctx.pool.acquire() as conn:
            name = await conn.fetchval("SELECT timezone FROM tenants WHERE id = $1", tenant_id)
        if name:
            return ZoneInfo(name)
    return ctx.zone


def _wrap(page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT_KEY]
        lang = language_of(request, None)
        try:
            principal, csrf = await principal_of(request)
        except ApiError as exc:
            if exc.status == 401:
                to_login(request)
            return error_page(request, lang, exc.status, exc.message)
        if principal is None or csrf is None:
            to_login(request)
        lang = language_of(request, principal.language)
        t = translator(lang)
        if not allows(principal, page.permission):
            return error_page(request, lang, 403, t("error.forbidden"))
        form: Mapping[str, str] = {}
        if request.method == "POST":
            posted = await request.post()
            form = {k: v for k, v in posted.items() if isinstance(v, str)}
            if not csrf_ok(request, csrf, form.get("csrf_token")):
                return error_page(request, lang, 403, t("error.csrf"))
        zone = await tenant_zone(ctx, principal.tenant_id)
        console = ConsolePage(request, principal, ctx, csrf, lang, zone, form)
        try:
            return await page.handler(console)
        except ApiError as exc:
            return error_page(request, lang, exc.status, exc.message)
        except NotFoundError as exc:
            return error_page(request, lang, 404, str(exc) or t("error.not_found"))
        except IvrError as exc:
            return error_page(request, lang, exc.status if exc.status >= 400 else 400, str(exc))

    handle.__name__ = page.handler.__name__
    return handle
