"""Signing in and out, the caller's own account, and their machine tokens.

- ``POST /api/v1/session`` ``{"email", "password"}``: a login session (cookie) and its CSRF
  token; ``DELETE /api/v1/session`` signs out; ``GET /api/v1/me`` who you are.
- ``GET|POST /api/v1/tokens``, ``DELETE /api/v1/tokens/{id}``: your API tokens (the secret
  is in the answer of ``POST`` only).
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from ivr_engine.api.auth import COOKIE, set_session_cookie, sign_in
from ivr_engine.api.common import json_body, json_object, respond
from ivr_engine.api.context import SESSION_KEY, actor_of
from ivr_engine.api.credentials import new_token
from ivr_engine.api.errors import bad_input, not_found, unauthenticated
from ivr_engine.api.registry import ApiRequest, ApiRoutes
from ivr_engine.domain.access import PERMISSIONS, allows
from ivr_engine.errors import NotFoundError
from ivr_engine.store import accounts, audit

routes = ApiRoutes()


def _me(req: ApiRequest) -> dict[str, object]:
    p = req.principal
    return {
        "user_id": p.user_id,
        "email": p.email,
        "role": p.role,
        "tenant_id": p.tenant_id,
        "branch_id": p.branch_id,
        "number": p.number,
        "agent_id": p.agent_id,
        "via": p.via,
        "scopes": sorted(p.scopes) if p.scopes is not None else None,
        "permissions": sorted(k for k in PERMISSIONS if allows(p, k)),
    }


@routes.post(
    "/session",
    None,
    "Sign in: opens a login session (cookie)",
    tag="session",
    body="{email, password}",
)
async def login(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not email.strip():
        raise bad_input("email is required", "email")
    if not isinstance(password, str) or not password:
        raise bad_input("password is required", "password")
    ua = req.request.headers.get("User-Agent", "")
    signed = await sign_in(req.ctx, email, password, req.address, ua, "api")
    response = respond({"user": signed.user.public(), "csrf_token": signed.csrf})
    set_session_cookie(response, req.ctx, signed.secret)
    return response


@routes.delete("/session", None, "Sign out", tag="session")
async def logout(req: ApiRequest) -> web.StreamResponse:
    secret = req.request.cookies.get(COOKIE)
    if secret and req.maybe_principal is not None:
        async with req.ctx.pool.acquire() as conn:
            await accounts.end_session(conn, secret)
            await audit.append(
                conn,
                actor_of(req.principal, req.address),
                action="logout",
                resource="user",
                resource_id=str(req.principal.user_id),
                tenant_id=req.principal.tenant_id,
            )
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


@routes.get("/me", "tenants.read", "Who you are, what you may do", tag="session")
async def me(req: ApiRequest) -> web.StreamResponse:
    body = _me(req)
    body["csrf_token"] = req.request.get(SESSION_KEY)
    return respond(body)


@routes.get("/tokens", "tokens.write", "Your API tokens", tag="session")
async def list_tokens(req: ApiRequest) -> web.StreamResponse:
    if req.principal.scopes is not None:
        raise unauthenticated("tokens are managed from a signed-in session or the CLI")
    async with req.ctx.pool.acquire() as conn:
        tokens = await accounts.list_tokens(conn, req.principal.user_id)
    return respond({"items": [t.public() for t in tokens], "next_cursor": None})


@routes.post(
    "/tokens",
    "tokens.write",
    "Create an API token (its secret is shown once)",
    tag="session",
    body="{name, scopes: [read|write|reveal], expires_days}",
)
async def create_token(req: ApiRequest) -> web.StreamResponse:
    if req.principal.scopes is not None:
        raise unauthenticated("tokens are managed from a signed-in session or the CLI")
    data = json_object(await json_body(req))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_input("name is required", "name")
    scopes = data.get("scopes", ["read", "write"])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_input("scopes is a list of read, write, reveal", "scopes")
    days = data.get("expires_days")
    if days is not None and (not isinstance(days, int) or not 1 <= days <= 3650):
        raise bad_input("expires_days is 1 to 3650", "expires_days")
    expires = req.ctx.clock() + timedelta(days=days) if days else None
    secret = new_token()
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        token = await accounts.create_token(
            conn, req.principal.user_id, name.strip(), secret, tuple(scopes), expires
        )
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="token.create",
            resource="token",
            resource_id=str(token.id),
            tenant_id=req.principal.tenant_id,
            new=token.public(),
        )
    body = token.public()
    body["token"] = secret
    return respond(body, status=201)


@routes.delete("/tokens/{id}", "tokens.write", "Revoke one of your API tokens", tag="session")
async def revoke_token(req: ApiRequest) -> web.StreamResponse:
    try:
        token_id = int(req.match("id"))
    except ValueError:
        raise not_found("token") from None
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        try:
            token = await accounts.revoke_token(
                conn, req.principal.user_id, token_id, req.ctx.clock()
            )
        except NotFoundError:
            raise not_found("token") from None
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="token.revoke",
            resource="token",
            resource_id=str(token.id),
            tenant_id=req.principal.tenant_id,
        )
    return web.Response(status=204)
