"""Members and their minutes: the members who call out as the company (add and remove for
managers) and the minute allowances (the tenant's pool, each member's balance and outbound
statistics, allocating from the pool, the ledger's rows). The same store functions as
``api/members.py``; every write is audited; mobiles are masked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from ivr_engine.console.pages_outbound import page_tenant
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.config_fields import Invalid
from ivr_engine.domain.members import Role, member_data, parse_member
from ivr_engine.domain.numbers import format_number, mask
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.store import audit, config_edit, minutes
from ivr_engine.store import members as store
from ivr_engine.store.outbound_desk import member_stats

pages = ConsoleRoutes()


async def _audit(page: ConsolePage, tenant_id: str, action: str, rid: str, **kw: Any) -> None:
    async with page.ctx.pool.acquire() as conn:
        await audit.append(
            conn,
            page.actor,
            action=action,
            resource=action.split(".")[0],
            resource_id=rid,
            tenant_id=tenant_id,
            **kw,
        )


async def _tenants(page: ConsolePage) -> list[str]:
    if page.principal.tenant_id is not None:
        return [page.principal.tenant_id]
    async with page.ctx.pool.acquire() as conn:
        return [t["id"] for t in await config_edit.tenant_versions(conn, None)]


async def _members_page(
    page: ConsolePage, status: int = 200, error: str = "", done: str = ""
) -> web.Response:
    tenant_id = await page_tenant(page)
    async with page.ctx.pool.acquire() as conn:
        found = await store.tenant_members(conn, tenant_id)
        ids = await store.tenant_caller_ids(conn, tenant_id)
    return page.render(
        "members.html",
        http_status=status,
        tenant_id=tenant_id,
        tenants=await _tenants(page),
        members=found,
        caller_ids=ids,
        roles=[r.value for r in Role],
        error=error,
        done=done,
        form=page.form,
        mask=mask,
        fmt=format_number,
    )


@pages.get("/members", "members.read")
async def members(page: ConsolePage) -> web.StreamResponse:
    """``GET /members``: the tenant's members, mobiles masked."""
    return await _members_page(page)


@pages.post("/members", "members.write")
async def add_member(page: ConsolePage) -> web.StreamResponse:
    """``POST /members``: add a member (checked as the configuration checks it)."""
    tenant_id = await page_tenant(page)
    form = page.form
    data: dict[str, Any] = {
        "name": form.get("name", ""),
        "mobile": form.get("mobile", "").strip(),
        "role": form.get("role", "member"),
    }
    chosen = [k.removeprefix("caller_id_") for k, v in form.items() if k.startswith("caller_id_")]
    if chosen:
        data["caller_ids"] = chosen
    try:
        member = parse_member(data, "member")
        await store.add_member(page.ctx.pool, tenant_id, member)
    except Invalid as exc:
        return await _members_page(page, 400, str(exc))
    except (ValidationError, ConflictError, NotFoundError) as exc:
        return await _members_page(page, 400, str(exc))
    await _audit(page, tenant_id, "member.add", mask(member.mobile), new=member_data(member))
    return await _members_page(page, done=f"{page.t('members.added')} {member.name}")


@pages.post("/members/remove", "members.write")
async def remove_member(page: ConsolePage) -> web.StreamResponse:
    """``POST /members/remove``: remove a member (its ledger rows stay)."""
    tenant_id = await page_tenant(page)
    try:
        member = await store.remove_member(page.ctx.pool, tenant_id, page.form.get("member", ""))
    except NotFoundError:
        return await _members_page(page, 404, page.t("error.not_found"))
    await _audit(page, tenant_id, "member.remove", mask(member.mobile), old=member_data(member))
    return await _members_page(page, done=f"{page.t('members.removed')} {member.name}")


def _days(page: ConsolePage) -> int:
    raw = page.query("days")
    return min(int(raw), 366) if raw.isdigit() and int(raw) > 0 else 30


async def _minutes_page(
    page: ConsolePage, status: int = 200, error: str = "", done: str = ""
) -> web.Response:
    tenant_id = await page_tenant(page)
    days = _days(page)
    account = page.query("account") or None
    pool = page.ctx.pool
    found = await store.tenant_members(pool, tenant_id)
    if account is not None and account not in {m.mobile for m in found}:
        account = None
    balances = await minutes.member_balances(pool, tenant_id)
    stats = await member_stats(pool, tenant_id, page.ctx.clock() - timedelta(days=days))
    return page.render(
        "minutes.html",
        http_status=status,
        tenant_id=tenant_id,
        tenants=await _tenants(page),
        pool_seconds=await minutes.balance(pool, tenant_id),
        stats=stats,
        balances=balances,
        members=found,
        account=account or "",
        ledger=await minutes.ledger(pool, tenant_id, account, 100),
        days=days,
        error=error,
        done=done,
        form=page.form,
        mask=mask,
    )


@pages.get("/minutes", "minutes.read")
async def minutes_page(page: ConsolePage) -> web.StreamResponse:
    """``GET /minutes?days=30&account=MOBILE``: the pool, members, statistics, the ledger."""
    return await _minutes_page(page)


@pages.post("/minutes/allocate", "minutes.write")
async def allocate(page: ConsolePage) -> web.StreamResponse:
    """``POST /minutes/allocate``: minutes from the pool to a member (negative: back)."""
    tenant_id = await page_tenant(page)
    raw = page.form.get("minutes", "").strip()
    try:
        amount = int(raw)
    except ValueError:
        return await _minutes_page(page, 400, page.t("minutes.whole"))
    if amount == 0:
        return await _minutes_page(page, 400, page.t("minutes.whole"))
    try:
        member = await store.resolve_member(page.ctx.pool, tenant_id, page.form.get("member", ""))
        await minutes.allocate(
            page.ctx.pool, tenant_id, member.mobile, amount * 60, page.form.get("reason", "")
        )
    except (NotFoundError, ConflictError, ValidationError) as exc:
        return await _minutes_page(
            page, 400 if not isinstance(exc, ConflictError) else 409, str(exc)
        )
    body = {"member": mask(member.mobile), "seconds": amount * 60}
    await _audit(page, tenant_id, "minutes.allocate", mask(member.mobile), new=body)
    return await _minutes_page(page, done=f"{page.t('minutes.allocated')} {member.name}")
