"""Signing in and out of the console.

The sign-in form carries a CSRF token of its own (double submit: the same random value in
a cookie and a hidden field), since there is no session yet to hold one. A successful
sign-in opens the same login session as the API's (``api.auth.sign_in``: lock-out, address
allowlist, audit), so the API accepts the console's cookie too.
"""

from __future__ import annotations

import hmac

import aiohttp_jinja2
from aiohttp import web

from ivr_engine.api.auth import COOKIE, principal_of, set_session_cookie, sign_in
from ivr_engine.api.context import CONTEXT_KEY, actor_of
from ivr_engine.api.credentials import new_csrf_token
from ivr_engine.api.errors import ApiError
from ivr_engine.console.i18n import translator
from ivr_engine.console.web import TEMPLATES_KEY, ConsolePage, ConsoleRoutes, language_of
from ivr_engine.store import accounts, audit

LOGIN_CSRF_COOKIE = "ivr_login_csrf"
pages = ConsoleRoutes()

_MESSAGES = {
    "invalid_credentials": "login.invalid",
    "locked_out": "login.locked",
    "address_not_allowed": "login.address",
}


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site, else the dashboard."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _form(
    request: web.Request, lang: str, status: int = 200, error: str = "", detail: str = ""
) -> web.Response:
    token = new_csrf_token()
    response = aiohttp_jinja2.render_template(
        "login.html",
        request,
        {
            "t": translator(lang),
            "lang": lang,
            "other_lang": "en" if lang == "ko" else "ko",
            "login_csrf": token,
            "next": safe_next(request.query.get("next")),
            "email": "",
            "error": error,
            "detail": detail,
            "signed_out": "signed_out" in request.query,
        },
        app_key=TEMPLATES_KEY,
        status=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login")
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    """``GET /login``: the sign-in form (or on, when already signed in)."""
    lang = language_of(request, None)
    try:
        principal, csrf = await principal_of(request)
    except ApiError:
        principal, csrf = None, None
    if principal is not None and csrf is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return _form(request, lang)


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /login``: check the password, open the session, go on."""
    ctx = request.app[CONTEXT_KEY]
    lang = language_of(request, None)
    form = await request.post()
    sent, expected = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _form(request, lang, 403, "login.csrf")
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    if not email or not password:
        return _form(request, lang, 400, "login.invalid")
    try:
        signed = await sign_in(
            ctx,
            email,
            password,
            request.remote or "",
            request.headers.get("User-Agent", ""),
            "console",
        )
    except ApiError as exc:
        key = _MESSAGES.get(exc.code, "login.invalid")
        detail = exc.message if exc.code == "locked_out" else ""
        return _form(request, lang, exc.status, key, detail)
    response = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
    set_session_cookie(response, ctx, signed.secret)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    if signed.user.language in ("ko", "en") and "lang" not in request.query:
        response.del_cookie("ivr_lang", path="/")
    raise response


@pages.post("/logout", "tenants.read")
async def logout(page: ConsolePage) -> web.StreamResponse:
    """``POST /logout``: end the session."""
    secret = page.request.cookies.get(COOKIE)
    if secret:
        async with page.ctx.pool.acquire() as conn:
            await accounts.end_session(conn, secret)
            await audit.append(
                conn,
                actor_of(page.principal, page.address),
                action="logout",
                resource="user",
                resource_id=str(page.principal.user_id),
                tenant_id=page.principal.tenant_id,
            )
    response = web.HTTPSeeOther("/login?signed_out=1")
    response.del_cookie(COOKIE, path="/")
    raise response


ROUTES = (web.get("/login", login_form), web.post("/login", login_submit))
