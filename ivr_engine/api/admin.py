"""Tenants, users and the audit log.

- ``/api/v1/tenants``: the tenants you may see; a tenant's defaults (the file's tenant-level
  keys), its branches and its address allowlist.
- ``/api/v1/users``: accounts of your tenant (platform admins: all), with their roles.
- ``/api/v1/audit``: who changed what, newest first.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import asyncpg
from aiohttp import web

from ivr_engine.api.common import (
    Page,
    encode_cursor,
    flag,
    json_body,
    json_object,
    page_body,
    require_version,
    respond,
)
from ivr_engine.api.context import actor_of
from ivr_engine.api.credentials import check_password_strength, hash_password
from ivr_engine.api.errors import bad_input, forbidden, not_found
from ivr_engine.api.numbers import report_body
from ivr_engine.api.registry import ApiRequest, ApiRoutes, Param
from ivr_engine.domain.access import ROLES, may_grant
from ivr_engine.domain.config_doc import settings_from_data, settings_to_data
from ivr_engine.domain.model import TenantConfig
from ivr_engine.errors import ValidationError
from ivr_engine.store import accounts, audit, config_edit

routes = ApiRoutes()


async def _tenant(req: ApiRequest, tenant_id: str) -> TenantConfig:
    if not req.reach.sees_tenant(tenant_id):
        raise not_found(f"tenant {tenant_id}")
    async with req.ctx.pool.acquire() as conn:
        tenant = await config_edit.export_tenant(conn, tenant_id)
    if tenant is None:
        raise not_found(f"tenant {tenant_id}")
    return tenant


@routes.get("/tenants", "tenants.read", "The tenants you may see", tag="tenants")
async def list_tenants(req: ApiRequest) -> web.StreamResponse:
    async with req.ctx.pool.acquire() as conn:
        rows = await config_edit.tenant_versions(conn, req.reach.tenants)
    return respond(page_body(rows, None))


async def _tenant_body(req: ApiRequest, tenant: TenantConfig) -> tuple[dict[str, Any], int]:
    async with req.ctx.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT version, ip_allowlist::text[] AS allow FROM tenants WHERE id = $1", tenant.id
        )
        branches = await conn.fetch(
            "SELECT id, name FROM branches WHERE tenant_id = $1 ORDER BY id", tenant.id
        )
    body = {
        "id": tenant.id,
        "name": tenant.name,
        "timezone": tenant.timezone,
        "defaults": settings_to_data(tenant.defaults),
        "numbers": len(tenant.numbers),
        "branches": [dict(b) for b in branches],
        "ip_allowlist": row["allow"],
        "version": row["version"],
    }
    return body, int(row["version"])


@routes.get(
    "/tenants/{tenant}", "tenants.read", "One tenant and its defaults", tag="tenants", etag=True
)
async def get_tenant(req: ApiRequest) -> web.StreamResponse:
    tenant = await _tenant(req, req.match("tenant"))
    body, version = await _tenant_body(req, tenant)
    return respond(body, version=version)


@routes.post(
    "/tenants",
    "tenants.create",
    "Create a tenant",
    tag="tenants",
    body="{id, name, timezone, defaults}",
    params=(Param("dry_run", "", "boolean"),),
)
async def create_tenant(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    tenant = _tenant_from(data, data.get("id"))
    return await _write_tenant(req, tenant, None, None)


@routes.patch(
    "/tenants/{tenant}",
    "tenants.write",
    "Change a tenant's name, zone, defaults or allowlist",
    tag="tenants",
    etag=True,
    body="{name?, timezone?, defaults?, ip_allowlist?: [cidr]}",
    params=(Param("dry_run", "", "boolean"),),
)
async def patch_tenant(req: ApiRequest) -> web.StreamResponse:
    old = await _tenant(req, req.match("tenant"))
    old_body, version = await _tenant_body(req, old)
    require_version(req, version)
    data = json_object(await json_body(req))
    merged = {
        "name": data.get("name", old.name),
        "timezone": data.get("timezone", old.timezone),
        "defaults": data.get("defaults", settings_to_data(old.defaults)),
    }
    tenant = _tenant_from(merged, old.id)
    allow = _allowlist(data["ip_allowlist"]) if "ip_allowlist" in data else ...
    return await _write_tenant(req, tenant, version, old_body, allow)


def _tenant_from(data: dict[str, Any], tenant_id: Any) -> TenantConfig:
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise bad_input("id is required", "id")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_input("name is required", "name")
    tz = data.get("timezone") or "Asia/Seoul"
    defaults = json_object(data.get("defaults") or {}, "defaults")
    try:
        settings = settings_from_data(defaults, path="defaults")
    except ValidationError as exc:
        raise bad_input(str(exc), exc.path or "defaults") from None
    return TenantConfig(tenant_id.strip(), name.strip(), str(tz), settings)


def _allowlist(value: Any) -> list[str] | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise bad_input("ip_allowlist is a list of addresses or networks", "ip_allowlist")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError:
            raise bad_input(
                f"{item!r} is not an address or network", f"ip_allowlist[{i}]"
            ) from None
    return out


async def _write_tenant(
    req: ApiRequest,
    tenant: TenantConfig,
    expected: int | None,
    old: dict[str, Any] | None,
    allow: Any = ...,
) -> web.StreamResponse:
    dry_run = flag(req, "dry_run")
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        change = await config_edit.change_tenant(
            conn,
            tenant,
            expected_version=expected,
            dry_run=dry_run,
            origin=f"api:{req.principal.email}",
        )
        version = change.version
        if not dry_run and allow is not ...:
            version = await conn.fetchval(
                "UPDATE tenants SET ip_allowlist = $2::cidr[], version = "
                "nextval('config_version_seq') WHERE id = $1 RETURNING version",
                tenant.id,
                allow,
            )
        if not dry_run:
            await audit.append(
                conn,
                actor_of(req.principal, req.address),
                action="tenant.create" if old is None else "tenant.update",
                resource="tenant",
                resource_id=tenant.id,
                tenant_id=tenant.id,
                old=old,
                new={
                    "name": tenant.name,
                    "timezone": tenant.timezone,
                    "defaults": settings_to_data(tenant.defaults),
                    "ip_allowlist": old.get("ip_allowlist")
                    if old and allow is ...
                    else (None if allow is ... else allow),
                    "version": version,
                },
            )
    body = report_body(change.report)
    body["version"] = version
    return respond(
        body,
        status=201 if old is None and not dry_run else 200,
        version=None if dry_run else version,
    )


@routes.get("/users", "users.read", "Accounts you manage", tag="users")
async def list_users(req: ApiRequest) -> web.StreamResponse:
    async with req.ctx.pool.acquire() as conn:
        users = await accounts.list_users(conn, req.reach.tenants)
    return respond(page_body([u.public() for u in users], None))


@routes.post(
    "/users",
    "users.write",
    "Create an account",
    tag="users",
    body="{email, password, role, tenant_id?, branch_id?, number?, agent_id?}",
)
async def create_user(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    role = data.get("role")
    if role not in ROLES:
        raise bad_input(f"role is one of {', '.join(ROLES)}", "role")
    tenant_id = data.get("tenant_id", req.principal.tenant_id)
    if tenant_id is not None and not req.reach.sees_tenant(tenant_id):
        raise not_found(f"tenant {tenant_id}")
    if not may_grant(req.principal, role, tenant_id):
        raise forbidden(f"you may not create a {role} account")
    password = data.get("password")
    if not isinstance(password, str):
        raise bad_input("password is required", "password")
    check_password_strength(password)
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        user = await accounts.create_user(
            conn,
            email=str(data.get("email", "")),
            role=role,
            password_hash=hash_password(password),
            tenant_id=tenant_id,
            branch_id=data.get("branch_id"),
            number=data.get("number"),
            agent_id=data.get("agent_id"),
            display_name=str(data.get("display_name", "")),
            language=str(data.get("language", "ko")),
        )
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="user.create",
            resource="user",
            resource_id=str(user.id),
            tenant_id=user.tenant_id,
            new=user.public(),
        )
    return respond(user.public(), status=201, version=user.version)


async def _managed_user(req: ApiRequest, conn: asyncpg.Connection) -> accounts.User:
    try:
        user_id = int(req.match("id"))
    except ValueError:
        raise not_found("user") from None
    user = await accounts.user_by_id(conn, user_id)
    if user is None or not req.reach.sees_tenant(user.tenant_id):
        raise not_found("user")
    return user


@routes.get("/users/{id}", "users.read", "One account", tag="users", etag=True)
async def get_user(req: ApiRequest) -> web.StreamResponse:
    async with req.ctx.pool.acquire() as conn:
        user = await _managed_user(req, conn)
    return respond(user.public(), version=user.version)


@routes.patch(
    "/users/{id}",
    "users.write",
    "Change an account (role, disabled, password...)",
    tag="users",
    etag=True,
    body="{display_name?, role?, disabled?, password?, ...}",
)
async def patch_user(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    async with req.ctx.pool.acquire() as conn, conn.transaction():
        user = await _managed_user(req, conn)
        require_version(req, user.version)
        if not may_grant(req.principal, user.role, user.tenant_id):
            raise forbidden(f"you may not change a {user.role} account")
        fields: dict[str, Any] = {}
        for key in (
            "display_name",
            "role",
            "branch_id",
            "number",
            "agent_id",
            "disabled",
            "language",
        ):
            if key in data:
                fields[key] = data[key]
        if "role" in fields and not may_grant(req.principal, fields["role"], user.tenant_id):
            raise forbidden(f"you may not give the role {fields['role']}")
        if "password" in data:
            if not isinstance(data["password"], str):
                raise bad_input("password is a string", "password")
            check_password_strength(data["password"])
            fields["password_hash"] = hash_password(data["password"])
        if not fields:
            raise bad_input("nothing to change")
        after = await accounts.update_user(conn, user.id, user.version, **fields)
        if "password_hash" in fields or fields.get("disabled"):
            await accounts.end_sessions_of(conn, user.id)
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="user.update",
            resource="user",
            resource_id=str(user.id),
            tenant_id=user.tenant_id,
            old=user.public(),
            new=after.public(),
            detail={"password_changed": "password_hash" in fields},
        )
    return respond(after.public(), version=after.version)


@routes.get(
    "/audit",
    "audit.read",
    "The audit log, newest first",
    tag="audit",
    params=(
        Param("resource", "number | tenant | user | token | call ..."),
        Param("resource_id", "one resource"),
        Param("limit", "", "integer"),
        Param("cursor", ""),
    ),
)
async def list_audit(req: ApiRequest) -> web.StreamResponse:
    page = Page.of(req)
    before = page.cursor.get("before") if page.cursor else None
    async with req.ctx.pool.acquire() as conn:
        entries = await audit.list_entries(
            conn,
            req.reach.tenants,
            resource=req.query("resource"),
            resource_id=req.query("resource_id"),
            before_id=before,
            limit=page.limit + 1,
        )
    more = len(entries) > page.limit
    entries = entries[: page.limit]
    cursor = encode_cursor({"before": entries[-1].id}) if more and entries else None
    return respond(page_body([e.public() for e in entries], cursor))
