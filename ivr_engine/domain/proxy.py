"""Reverse masking (Twilio Proxy style), pure: a customer a member called, calling the
shown number back, reaches that member while their session lasts.

A session is one customer-member pair: the member called the customer showing a verified
caller ID that is one of the tenant's virtual numbers. It starts when the call is placed
(so a customer who missed the call can call back too) and lasts the tenant's
``reverse_masking_hours``; the latest call of the pair renews it, and when a customer has
sessions with several members the one who called last wins. The member's phone shows the
virtual number, never the customer's, as on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ivr_engine.domain.members import OutboundRules


@dataclass(frozen=True)
class ProxySession:
    """A customer-member pair: the customer calling ``shown_number`` reaches the member."""

    tenant_id: str
    customer: str
    member_name: str
    member_mobile: str
    shown_number: str
    expires_at: datetime
    call_id: str | None = None

    def active(self, when: datetime) -> bool:
        """The session still routes call-backs at ``when``."""
        return when < self.expires_at


def session_expiry(rules: OutboundRules, placed: datetime) -> datetime | None:
    """When a session opened by a call placed at ``placed`` ends; None when the tenant
    has reverse masking off (``reverse_masking_hours: 0``)."""
    if rules.reverse_masking_hours <= 0:
        return None
    return placed + timedelta(hours=rules.reverse_masking_hours)
