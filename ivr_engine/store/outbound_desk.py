"""Outbound calls on Postgres: plan with reservation, settlement, reverse-masking sessions.

``prepare_call`` is what every way of calling out shares (``ivr-engine dial``, the access
number, the API): the member's context, the pure planner, the reservation under the
member's row lock, and the customer-member session that lets the customer call back.
``PgOutboundDesk`` implements ``calls.ports_outbound.OutboundDesk`` over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ivr_engine.domain.members import Member, OutboundRules
from ivr_engine.domain.minutes import minutes_text
from ivr_engine.domain.numbers import mask, try_normalize
from ivr_engine.domain.outbound import (
    OutboundPlan,
    OutboundRequest,
    Refusal,
    RefusalCode,
    plan_outbound,
)
from ivr_engine.domain.outbound_record import OutboundFacts, outbound_record
from ivr_engine.domain.proxy import ProxySession, session_expiry
from ivr_engine.errors import NotFoundError
from ivr_engine.store import minutes
from ivr_engine.store.executor import Executor
from ivr_engine.store.members import (
    OutboundContext,
    find_member,
    outbound_context,
    tenant_outbound_rules,
)
from ivr_engine.store.queries import queries
from ivr_engine.store.repos import translated


async def open_session(
    db: Executor, ctx: OutboundContext, plan: OutboundPlan, call_id: str, placed: datetime
) -> bool:
    """Open (or renew) the customer-member session of a masked call; False when the
    tenant has reverse masking off or the call was not masked."""
    expires = session_expiry(ctx.rules, placed)
    if expires is None or not plan.masked:
        return False
    await db.execute(
        queries()["proxy_session_upsert"],
        ctx.tenant_id,
        plan.destination,
        ctx.member.mobile,
        plan.caller_id,
        call_id,
        placed,
        expires,
    )
    return True


async def find_session(db: Executor, number: str, customer: str) -> ProxySession | None:
    """The customer's latest session on a number (the member who called last), or None."""
    row = await db.fetchrow(queries()["proxy_session_find"], number, customer)
    if row is None:
        return None
    return ProxySession(
        row["tenant_id"],
        row["customer"],
        row["member_name"],
        row["member"],
        row["shown_number"],
        row["expires_at"],
        row["call_id"],
    )


async def prepare_call(
    pool: asyncpg.Pool,
    member: str,
    to: str,
    caller_id: str | None,
    *,
    call_id: str,
    now: datetime,
    tenant_id: str | None = None,
) -> tuple[OutboundContext, OutboundPlan | Refusal]:
    """The member's context and the call's plan with its talk time reserved (or why it is
    refused); NotFoundError for a mobile that is no member (of ``tenant_id`` when given)."""
    ctx = await outbound_context(pool, member)
    if tenant_id is not None and ctx.tenant_id != tenant_id:
        raise NotFoundError(f"{mask(member)} is not a member of tenant {tenant_id}")
    # Planned as if the longest call were left: the reservation, under the member's row
    # lock, sets the real limit (and refuses when not one charging unit is left).
    longest = ctx.rules.max_call_minutes * 60
    request = OutboundRequest(ctx.tenant_id, ctx.member, to, now, caller_id)
    plan = plan_outbound(request, ctx.caller_ids, ctx.rules, ctx.timezone, longest)
    if isinstance(plan, OutboundPlan) and plan.charged:
        assert plan.talk_limit is not None
        got = await minutes.reserve(
            pool, ctx.tenant_id, ctx.member.mobile, call_id, plan.talk_limit
        )
        if not got:
            unit = minutes_text(ctx.rules.rounding.unit)
            return ctx, Refusal(
                RefusalCode.NO_MINUTES,
                f"{ctx.member.name} has no minutes left; a call needs at least {unit}",
            )
        plan = plan.with_limit(got)
    if isinstance(plan, OutboundPlan):
        await open_session(pool, ctx, plan, call_id, now)
    return ctx, plan


async def finish_call(
    pool: asyncpg.Pool,
    plan: OutboundPlan,
    facts: OutboundFacts,
    *,
    node: str,
    rules: OutboundRules | None = None,
) -> int:
    """Store the record and settle the minutes in one transaction; the seconds charged.
    ``rules``: the tenant's rules the call was planned with (else read again)."""
    if rules is None:
        rules = await tenant_outbound_rules(pool, plan.tenant_id) or OutboundRules()
    record = outbound_record(plan, facts, rounding=rules.rounding, node=node)
    await minutes.record_outbound(pool, record)
    return record.charged_seconds or 0


class PgOutboundDesk:
    """``OutboundDesk`` on Postgres (driver errors become DatabaseError)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._rules: dict[str, OutboundRules] = {}  # calls in progress: planned with

    async def member(self, mobile: str) -> tuple[str, Member] | None:
        """The tenant and member calling from a mobile, or None."""
        digits = try_normalize(mobile)
        if not digits:
            return None
        with translated("finding the member"):
            found = await find_member(self.pool, digits)
        return None if found is None else (found.tenant_id, found.member)

    async def prepare(
        self,
        member: str,
        to: str,
        caller_id: str | None,
        *,
        call_id: str,
        now: datetime,
        tenant_id: str | None = None,
    ) -> OutboundPlan | Refusal:
        """See ``prepare_call``."""
        with translated("planning the outbound call"):
            ctx, plan = await prepare_call(
                self.pool, member, to, caller_id, call_id=call_id, now=now, tenant_id=tenant_id
            )
        if isinstance(plan, OutboundPlan):
            self._rules[call_id] = ctx.rules
        return plan

    async def finish(self, plan: OutboundPlan, facts: OutboundFacts, *, node: str) -> int:
        """See ``finish_call``."""
        rules = self._rules.pop(facts.call_id, None)
        with translated("recording the outbound call"):
            return await finish_call(self.pool, plan, facts, node=node, rules=rules)

    async def last_caller(self, tenant_id: str, *, excluding: str) -> str | None:
        """The tenant's last inbound caller who is not a member."""
        with translated("finding the last caller"):
            value = await self.pool.fetchval(queries()["last_inbound_caller"], tenant_id, excluding)
        return None if value is None else str(value)

    async def proxy_session(self, number: str, customer: str) -> ProxySession | None:
        """See ``find_session``."""
        with translated("finding the reverse-masking session"):
            return await find_session(self.pool, number, customer)


@dataclass(frozen=True)
class MemberStats:
    """One member's outbound calls over a period."""

    mobile: str
    name: str
    calls: int
    answered: int
    talk_seconds: int
    charged_seconds: int


async def member_stats(db: Executor, tenant_id: str, since: datetime) -> list[MemberStats]:
    """Every member of a tenant with their outbound calls since ``since`` (none: zeros)."""
    rows = await db.fetch(queries()["member_call_stats"], tenant_id, since)
    return [
        MemberStats(
            r["mobile"],
            r["name"],
            int(r["calls"]),
            int(r["answered"]),
            int(r["talk_seconds"]),
            int(r["charged_seconds"]),
        )
        for r in rows
    ]
