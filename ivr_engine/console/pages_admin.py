"""The audit log, users and roles (an owner adds users, changes their role or disables
them), the SMS outbox (approving or discarding held texts), and read-only views of the
menus and queues."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ivr_engine.api.credentials import check_password_strength, hash_password
from ivr_engine.console import queries
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.access import (
    BRANCH_MANAGER,
    GRANTABLE,
    ROLE_LABELS,
    may_grant,
    shown_number,
)
from ivr_engine.domain.config_doc import settings_to_data
from ivr_engine.domain.numbers import format_number
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.sms import admin as sms_admin
from ivr_engine.store import accounts, audit, config_edit

pages = ConsoleRoutes()
SMS_STATES = ("held", "queued", "sending", "sent", "failed", "suppressed", "discarded")


def brief(value: Any, limit: int = 300) -> str:
    """A JSON value in one short line."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@pages.get("/audit", "audit.read")
async def audit_log(page: ConsolePage) -> web.StreamResponse:
    """``GET /audit?resource=&before=``: newest first, 100 a page."""
    before = int(page.query("before")) if page.query("before").isdigit() else None
    resource = page.query("resource") or None
    async with page.ctx.pool.acquire() as conn:
        entries = await audit.list_entries(
            conn, page.reach.tenants, resource=resource, before_id=before, limit=100
        )
    return page.render(
        "audit.html",
        entries=entries,
        brief=brief,
        resource=resource or "",
        older=entries[-1].id if len(entries) == 100 else None,
    )


async def _users_page(
    page: ConsolePage, status: int = 200, error: str = "", done: str = ""
) -> web.Response:
    async with page.ctx.pool.acquire() as conn:
        users = await accounts.list_users(conn, page.reach.tenants)
        tenants = await config_edit.tenant_versions(conn, page.reach.tenants)
    label = 1 if page.lang == "en" else 0
    return page.render(
        "users.html",
        http_status=status,
        users=users,
        tenants=[t["id"] for t in tenants],
        roles=sorted(GRANTABLE.get(page.principal.role, ())),
        role_name=lambda r: ROLE_LABELS[r][label],
        manages=lambda u: (
            page.may("users.write") and may_grant(page.principal, u.role, u.tenant_id)
        ),
        error=error,
        done=done,
        form=page.form,
    )


@pages.get("/users", "users.read")
async def users(page: ConsolePage) -> web.StreamResponse:
    """``GET /users``: accounts of the tenant (platform admins: all)."""
    return await _users_page(page)


@pages.post("/users", "users.write")
async def add_user(page: ConsolePage) -> web.StreamResponse:
    """``POST /users``: add an account with a role the user may grant."""
    form = page.form
    email, role = form.get("email", "").strip(), form.get("role", "")
    tenant = page.principal.tenant_id or (form.get("tenant") or None)
    if role == "platform-admin":
        tenant = None
    if not may_grant(page.principal, role, tenant):
        return await _users_page(page, 403, page.t("error.forbidden"))
    password = form.get("password", "")
    try:
        check_password_strength(password)
        async with page.ctx.pool.acquire() as conn, conn.transaction():
            user = await accounts.create_user(
                conn,
                email=email,
                role=role,
                password_hash=hash_password(password),
                tenant_id=tenant,
                branch_id=form.get("branch") or None,
                agent_id=form.get("agent") or None,
                display_name=form.get("display_name", "").strip(),
                language="en" if form.get("language") == "en" else "ko",
            )
            await audit.append(
                conn,
                page.actor,
                action="user.create",
                resource="user",
                resource_id=str(user.id),
                tenant_id=user.tenant_id,
                new=user.public(),
            )
    except (ValidationError, ConflictError, NotFoundError) as exc:
        return await _users_page(page, 400, str(exc))
    return await _users_page(page, done=f"{page.t('users.created')} {user.email}")


def _edit_fields(page: ConsolePage, user: accounts.User) -> dict[str, Any]:
    """The changes the row's form asks for (role, branch, disabled)."""
    form = page.form
    fields: dict[str, Any] = {}
    role = form.get("role", user.role)
    if role != user.role:
        fields["role"] = role
    branch = form.get("branch", "").strip() or None
    if branch != user.branch_id and (role == BRANCH_MANAGER or user.branch_id):
        fields["branch_id"] = branch if role == BRANCH_MANAGER else None
    disabled = form.get("disabled") == "on"
    if disabled != user.disabled:
        fields["disabled"] = disabled
    return fields


@pages.post("/users/{user_id}", "users.write")
async def edit_user(page: ConsolePage) -> web.StreamResponse:
    """``POST /users/{id}``: change a user's role or branch, or disable the account, with
    the version the form was read at (as the API's If-Match); audited like ``PATCH``."""
    raw = page.request.match_info["user_id"]
    version = page.form.get("version", "")
    async with page.ctx.pool.acquire() as conn:
        user = await accounts.user_by_id(conn, int(raw)) if raw.isdigit() else None
    if user is None or not page.reach.sees_tenant(user.tenant_id):
        raise NotFoundError(f"user {raw}: {page.t('error.not_found')}")
    if not version.isdigit() or int(version) != user.version:
        return await _users_page(page, 409, page.t("users.conflict"))
    fields = _edit_fields(page, user)
    if not may_grant(page.principal, user.role, user.tenant_id) or (
        "role" in fields and not may_grant(page.principal, fields["role"], user.tenant_id)
    ):
        return await _users_page(page, 403, page.t("error.forbidden"))
    if not fields:
        return await _users_page(page, done=page.t("users.unchanged"))
    try:
        async with page.ctx.pool.acquire() as conn, conn.transaction():
            after = await accounts.update_user(conn, user.id, user.version, **fields)
            if fields.get("disabled"):
                await accounts.end_sessions_of(conn, user.id)
            await audit.append(
                conn,
                page.actor,
                action="user.update",
                resource="user",
                resource_id=str(user.id),
                tenant_id=user.tenant_id,
                old=user.public(),
                new=after.public(),
                detail={"password_changed": False},
            )
    except ConflictError:
        return await _users_page(page, 409, page.t("users.conflict"))
    except ValidationError as exc:
        return await _users_page(page, 400, str(exc))
    return await _users_page(page, done=f"{page.t('users.updated')} {after.email}")


@pages.get("/sms", "sms.read")
async def sms(page: ConsolePage) -> web.StreamResponse:
    """``GET /sms?state=``: the outbox, newest first."""
    return await _sms_page(page)


async def _sms_page(
    page: ConsolePage, status: int = 200, *, done: str = "", error: str = ""
) -> web.Response:
    state = page.query("state")
    state = state if state in SMS_STATES else ""
    async with page.ctx.pool.acquire() as conn:
        rows = await queries.list_sms(conn, page.reach, state=state or None)
    return page.render(
        "sms.html",
        http_status=status,
        rows=rows,
        state=state,
        states=SMS_STATES,
        show=lambda n: shown_number(page.principal, n) if n else "",
        fmt=format_number,
        done=done,
        error=error,
    )


@pages.post("/sms", "sms.write")
async def sms_act(page: ConsolePage) -> web.StreamResponse:
    """``POST /sms``: approve or discard the held texts ticked (``text_<id>``) inside the
    reach, audited as the API's ``/sms/outbox/approve|discard``."""
    action = page.form.get("action", "")
    asked = sorted(int(k[5:]) for k in page.form if k.startswith("text_") and k[5:].isdigit())
    if action not in ("approve", "discard") or not asked:
        return await _sms_page(page, 400, error=page.t("sms.choose"))
    async with page.ctx.pool.acquire() as conn, conn.transaction():
        ids = await queries.sms_ids_in_reach(conn, page.reach, asked)
        if len(ids) != len(asked):
            raise NotFoundError(page.t("error.not_found"))
        if action == "approve":
            done = await sms_admin.approve(conn, ids, clock=page.ctx.clock)
        else:
            done = await sms_admin.discard(conn, ids, reason="discarded in the console")
        await audit.append(
            conn,
            page.actor,
            action=f"sms.{action}",
            resource="sms",
            tenant_id=page.principal.tenant_id,
            detail={"asked": ids, "done": done},
        )
    return await _sms_page(page, done=f"{page.t('sms.done_' + action)} {len(done)}")


def action_text(item: dict[str, Any]) -> str:
    """What a menu item does, in one line."""
    rest = {k: v for k, v in item.items() if k not in ("key", "label")}
    return ", ".join(f"{k}: {brief(v, 120)}" for k, v in rest.items())


@pages.get("/menus", "numbers.read")
async def menus(page: ConsolePage) -> web.StreamResponse:
    """``GET /menus``: each tenant's IVR menus and queues as configured (read-only)."""
    async with page.ctx.pool.acquire() as conn:
        tenants = await config_edit.tenant_versions(conn, page.reach.tenants)
        configs = [await config_edit.export_tenant(conn, t["id"]) for t in tenants]
    shown = []
    for tenant in configs:
        if tenant is None:
            continue
        data = settings_to_data(tenant.defaults)
        users_of = [format_number(e.number) for e in tenant.numbers if e.settings.menu]
        if data.get("menus") or data.get("queues"):
            shown.append(
                {
                    "id": tenant.id,
                    "name": tenant.name,
                    "menus": data.get("menus") or [],
                    "queues": data.get("queues") or [],
                    "numbers": users_of,
                }
            )
    return page.render("menus.html", tenants=shown, action_text=action_text, brief=brief)
