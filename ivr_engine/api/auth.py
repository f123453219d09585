"""Who is calling: bearer tokens for machines, cookie sessions (with a CSRF token) for the
console, the tenant's address allowlist, and lock-out after repeated failed sign-ins.

The middleware sets ``request[PRINCIPAL_KEY]`` (or leaves it unset: the endpoint then
answers 401 if it needs a principal). A browser session's unsafe request (POST, PUT, PATCH,
DELETE) must carry the session's CSRF token in ``X-CSRF-Token`` (or a ``csrf_token`` form
field); a bearer request needs none, since browsers never send bearer tokens on their own.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from ivr_engine.api.context import CONTEXT_KEY, PRINCIPAL_KEY, SESSION_KEY, ApiContext
from ivr_engine.api.credentials import (
    new_csrf_token,
    new_session_secret,
    verify_password,
)
from ivr_engine.api.errors import ApiError, Handler, unauthenticated
from ivr_engine.domain.access import Principal
from ivr_engine.store import accounts, audit
from ivr_engine.store.accounts import User
from ivr_engine.store.audit import Actor

log = logging.getLogger(__name__)

COOKIE = "ivr_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def address_allowed(ctx: ApiContext, tenant_id: str | None, address: str) -> bool:
    """Whether the tenant's allowlist (if it has one) admits ``address``."""
    if tenant_id is None:
        return True
    async with ctx.pool.acquire() as conn:
        allowed = await conn.fetchval(
            "SELECT ip_allowlist IS NULL OR cardinality(ip_allowlist) = 0 "
            "OR $2::inet <<= ANY(ip_allowlist) FROM tenants WHERE id = $1",
            tenant_id,
            address or "0.0.0.0",
        )
    return bool(allowed)


def _not_allowed(address: str) -> ApiError:
    return ApiError(
        403, "address_not_allowed", f"your address {address} is not on the tenant's allowlist"
    )


async def principal_of(request: web.Request) -> tuple[Principal | None, str | None]:
    """The principal of a request and its session's CSRF token (None for a bearer token),
    or (None, None) when the request carries no credentials; 401 for bad credentials and
    403 for an address outside the tenant's allowlist."""
    ctx = request.app[CONTEXT_KEY]
    now = ctx.clock()
    address = request.remote or ""
    header = request.headers.get("Authorization", "")
    principal: Principal | None = None
    csrf: str | None = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise unauthenticated("Authorization must be 'Bearer <token>'")
        async with ctx.pool.acquire() as conn:
            found = await accounts.token_user(conn, secret.strip(), now)
        if found is None:
            raise unauthenticated("the token is unknown, revoked or expired")
        user, token = found
        principal = user.principal(frozenset(token.scopes), token.name)
    elif COOKIE in request.cookies:
        secret = request.cookies[COOKIE]
        extend = now + timedelta(hours=ctx.session_hours)
        async with ctx.pool.acquire() as conn:
            live = await accounts.session_user(conn, secret, now, extend)
        if live is None:
            return None, None
        user, csrf = live
        principal = user.principal()
    if principal is not None and not await address_allowed(ctx, principal.tenant_id, address):
        raise _not_allowed(address)
    return principal, csrf


def csrf_ok(request: web.Request, expected: str, form_value: str | None = None) -> bool:
    """Whether an unsafe request of a cookie session carries its CSRF token."""
    sent = request.headers.get(CSRF_HEADER) or form_value or ""
    return bool(sent) and hmac.compare_digest(sent, expected)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the principal; refuse a cookie session's unsafe request without its CSRF
    token (403 ``csrf_failed``)."""
    principal, csrf = await principal_of(request)
    if principal is not None:
        request[PRINCIPAL_KEY] = principal
        if csrf is not None:
            request[SESSION_KEY] = csrf
            if request.method in UNSAFE and not csrf_ok(request, csrf):
                raise ApiError(403, "csrf_failed", f"a signed-in browser must send {CSRF_HEADER}")
    return await handler(request)


@dataclass(frozen=True)
class SignedIn:
    """A new login session: the cookie's secret, its CSRF token, and the user."""

    secret: str
    csrf: str
    user: User


async def sign_in(
    ctx: ApiContext, email: str, password: str, address: str, user_agent: str, via: str
) -> SignedIn:
    """Check the password and open a session. 401 ``invalid_credentials`` for a wrong
    e-mail or password (the same answer for both), 423 ``locked_out`` while locked,
    403 ``address_not_allowed`` outside the tenant's allowlist. Every attempt is audited."""
    now = ctx.clock()
    async with ctx.pool.acquire() as conn:
        user = await accounts.user_by_email(conn, email)
        who = Actor(email.strip().lower()[:200], via, user.id if user else None, address)
        if user is not None and user.locked_until is not None and user.locked_until > now:
            await audit.append(
                conn,
                who,
                action="login.locked",
                resource="user",
                resource_id=str(user.id),
                tenant_id=user.tenant_id,
            )
            raise ApiError(
                423,
                "locked_out",
                "too many failed sign-ins: the account is locked until "
                f"{user.locked_until.astimezone(ctx.zone):%Y-%m-%d %H:%M %z}",
            )
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            detail: dict[str, Any] = {}
            if user is not None and not user.disabled:
                after = await accounts.record_login_failure(conn, user.id, now)
                detail = {"failed_logins": after.failed_logins}
                if after.locked_until is not None and after.locked_until > now:
                    detail["locked_until"] = after.locked_until.isoformat()
            await audit.append(
                conn,
                who,
                action="login.failed",
                resource="user",
                resource_id=str(user.id) if user else "",
                tenant_id=user.tenant_id if user else None,
                detail=detail,
            )
            raise ApiError(401, "invalid_credentials", "wrong e-mail or password")
        if not await address_allowed(ctx, user.tenant_id, address):
            raise _not_allowed(address)
        secret, csrf = new_session_secret(), new_csrf_token()
        async with conn.transaction():
            await accounts.record_login_success(conn, user.id, now)
            await accounts.create_session(
                conn,
                user.id,
                secret,
                csrf,
                now + timedelta(hours=ctx.session_hours),
                address,
                user_agent,
            )
            await audit.append(
                conn,
                who,
                action="login",
                resource="user",
                resource_id=str(user.id),
                tenant_id=user.tenant_id,
            )
    return SignedIn(secret, csrf, user)


def set_session_cookie(response: web.StreamResponse, ctx: ApiContext, secret: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS."""
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="Lax",
        secure=ctx.secure_cookies,
        path="/",
        max_age=int(ctx.session_hours * 3600),
    )
