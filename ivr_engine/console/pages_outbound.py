"""Calling out from the console: the click-to-call form and "call back" on a missed
inbound call's page. Both go through ``api.outbound.place_call``, the function the API's
``POST /api/v1/calls`` uses (the planner's refusal, the audit row, the engine's dialer);
the answer is the call's id ("calling ...") or the refusal, shown in place (a fragment for
htmx, the whole page without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aiohttp import web

from ivr_engine.api.errors import ApiError
from ivr_engine.api.outbound import CallOrder, inbound_caller, member_mobile, place_call
from ivr_engine.console.web import ConsolePage, ConsoleRoutes
from ivr_engine.domain.members import Member
from ivr_engine.domain.numbers import format_number, mask, try_normalize
from ivr_engine.errors import NotFoundError
from ivr_engine.store import accounts, config_edit
from ivr_engine.store.members import tenant_caller_ids, tenant_members

pages = ConsoleRoutes()


@dataclass(frozen=True)
class DialChoices:
    """What the call forms offer: the tenant's members (the user's own one, if any) and
    its verified caller IDs."""

    tenant_id: str
    members: tuple[Member, ...]
    own: Member | None
    caller_ids: tuple[str, ...]


@dataclass(frozen=True)
class CallResult:
    """A call placed (``call_id``) or refused (``code``, ``message``)."""

    call_id: str = ""
    code: str = ""
    message: str = ""


def own_member(members: tuple[Member, ...], email: str, display_name: str) -> Member | None:
    """The signed-in user's own member entry: the member whose mobile is the e-mail's local
    part (``01077778888@pizza.kr``) or whose name is the user's display name."""
    local = try_normalize(email.split("@", 1)[0])
    for m in members:
        if local is not None and m.mobile == local:
            return m
    name = display_name.strip()
    for m in members:
        if name and m.name == name:
            return m
    return None


async def page_tenant(page: ConsolePage) -> str:
    """The tenant a page works on: the user's own, else (a platform admin) ``?tenant=`` or
    the form's ``tenant`` inside the reach, else the first tenant."""
    if page.principal.tenant_id is not None:
        return page.principal.tenant_id
    wanted = page.form.get("tenant") or page.query("tenant")
    async with page.ctx.pool.acquire() as conn:
        tenants = [t["id"] for t in await config_edit.tenant_versions(conn, None)]
    if wanted in tenants:
        return str(wanted)
    if not tenants:
        raise NotFoundError(page.t("error.not_found"))
    return str(tenants[0])


async def dial_choices(page: ConsolePage, tenant_id: str) -> DialChoices:
    """The members and verified caller IDs of ``tenant_id`` for the forms."""
    async with page.ctx.pool.acquire() as conn:
        members = await tenant_members(conn, tenant_id)
        ids = await tenant_caller_ids(conn, tenant_id)
        user = await accounts.user_by_id(conn, page.principal.user_id)
    own = own_member(members, page.principal.email, user.display_name if user else "")
    return DialChoices(tenant_id, members, own, tuple(c.number for c in ids if c.verified))


def refusal_text(page: ConsolePage, exc: ApiError) -> CallResult:
    """A refusal as the page shows it: the catalogue's sentence, then the engine's own."""
    code = str(exc.extra.get("refusal") or exc.code)
    label = page.t(f"call.refused.{code}")
    message = exc.message if label.startswith("call.refused.") else f"{label} ({exc.message})"
    return CallResult(code=code, message=message)


async def _place(page: ConsolePage, order: CallOrder) -> CallResult:
    try:
        call_id = await place_call(page.ctx, page.principal, page.address, order)
    except ApiError as exc:
        return refusal_text(page, exc)
    return CallResult(call_id=call_id)


def result_fragment(page: ConsolePage, result: CallResult) -> web.Response:
    """The answer for htmx: the result paragraph alone."""
    if result.call_id:
        text = (
            f'<p class="notice" id="call-result" data-call-id="{escape(result.call_id)}">'
            f"{escape(page.t('call.calling'))} <code>{escape(result.call_id)}</code></p>"
        )
    else:
        text = (
            f'<p class="error" id="call-result" data-refusal="{escape(result.code)}">'
            f"{escape(result.message)}</p>"
        )
    return web.Response(text=text, content_type="text/html")


def _form_member(page: ConsolePage) -> str:
    return page.form.get("member", "").strip()


def _form_caller_id(page: ConsolePage) -> str | None:
    return page.form.get("caller_id", "").strip() or None


def _render_form(
    page: ConsolePage, choices: DialChoices, result: CallResult | None, status: int = 200
) -> web.Response:
    return page.render(
        "call.html",
        http_status=status,
        choices=choices,
        result=result,
        form=page.form,
        fmt=format_number,
        mask=mask,
    )


@pages.get("/calls/new", "outbound.dial")
async def call_form(page: ConsolePage) -> web.StreamResponse:
    """``GET /calls/new``: the click-to-call form (member, destination, caller ID)."""
    return _render_form(page, await dial_choices(page, await page_tenant(page)), None)


@pages.post("/calls/new", "outbound.dial")
async def call_out(page: ConsolePage) -> web.StreamResponse:
    """``POST /calls/new``: ring the member, then the destination."""
    tenant_id = await page_tenant(page)
    to = page.form.get("to", "").strip()
    result: CallResult
    if not to or not _form_member(page):
        result = CallResult(code="invalid_input", message=page.t("call.fill"))
    else:
        try:
            member = await member_mobile(page.ctx.pool, tenant_id, _form_member(page))
        except ApiError as exc:
            result = refusal_text(page, exc)
        else:
            order = CallOrder(tenant_id, member, to, _form_caller_id(page), "console")
            result = await _place(page, order)
    if page.request.headers.get("HX-Request"):
        return result_fragment(page, result)
    return _render_form(page, await dial_choices(page, tenant_id), result)


async def call_back_result(page: ConsolePage, call_id: str) -> tuple[CallResult, str | None]:
    """Call back the caller of an inbound record; the result and the record's tenant."""
    try:
        tenant_id, caller = await inbound_caller(page.ctx.pool, page.reach, call_id)
        member = await member_mobile(page.ctx.pool, tenant_id, _form_member(page))
    except ApiError as exc:
        return refusal_text(page, exc), None
    order = CallOrder(tenant_id, member, caller, _form_caller_id(page), f"record {call_id}")
    return await _place(page, order), tenant_id
