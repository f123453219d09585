"""What outbound calls placed by the engine need from the database, as a Protocol.

The access number, call-backs from records, the API's click-to-call and reverse masking
use it; ``store.outbound_desk.PgOutboundDesk`` implements it on Postgres. Like the other
ports it raises ``errors.DatabaseError`` rather than driver exceptions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ivr_engine.domain.members import Member
from ivr_engine.domain.outbound import OutboundPlan, Refusal
from ivr_engine.domain.outbound_record import OutboundFacts
from ivr_engine.domain.proxy import ProxySession


class OutboundDesk(Protocol):
    """Members, planning with reservation, settlement, and reverse-masking sessions."""

    async def member(self, mobile: str) -> tuple[str, Member] | None:
        """The tenant and member calling from a mobile, or None."""
        ...

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
        """Plan a member's call (``domain.outbound``), reserve its talk time under the
        member's row lock and open the reverse-masking session; a Refusal places nothing.
        ``tenant_id`` given: a member of another tenant is refused as unknown."""
        ...

    async def finish(self, plan: OutboundPlan, facts: OutboundFacts, *, node: str) -> int:
        """Store the call's record and settle its minutes in one transaction; the seconds
        charged."""
        ...

    async def last_caller(self, tenant_id: str, *, excluding: str) -> str | None:
        """The last customer who called one of the tenant's numbers (not ``excluding``,
        the access number, nor a member), or None."""
        ...

    async def proxy_session(self, number: str, customer: str) -> ProxySession | None:
        """The customer's latest reverse-masking session on a number (live or not: the
        planner decides), or None."""
        ...
