"""What an outbound call did, and the call record it becomes (pure).

The executor (``calls/outbound.py``) fills an ``OutboundFacts``; ``outbound_record`` turns
it and the plan into a ``CallRecord`` with direction ``outbound``: ``number`` is the caller
ID the customer saw, ``caller`` the member's mobile, ``answered_target`` the destination once
it answered. ``answer_time`` is the customer's answer, so the ``cdr`` view's billsec is the
talk time; the seconds charged are the talk seconds rounded up by the tenant's rule, never
more than was reserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ivr_engine.domain.dialing import Attempt, TargetResult, classify_cause
from ivr_engine.domain.members import Rounding
from ivr_engine.domain.minutes import charge_for, minutes_text
from ivr_engine.domain.outbound import OutboundPlan
from ivr_engine.domain.records import (
    AST_ANSWERED,
    AST_BUSY,
    AST_FAILED,
    AST_NO_ANSWER,
    CallRecord,
    Disposition,
    whole_seconds,
)


class OutboundOutcome(StrEnum):
    """How an outbound call ended."""

    COMPLETED = "completed"  # member and customer talked
    MEMBER_NO_ANSWER = "member_no_answer"  # the member's phone rang without an answer
    MEMBER_BUSY = "member_busy"  # busy, declined or unreachable
    CUSTOMER_BUSY = "customer_busy"  # busy or declined (causes 17, 21)
    CUSTOMER_NO_ANSWER = "customer_no_answer"  # rang without an answer (16, 19)
    CUSTOMER_UNREACHABLE = "customer_unreachable"  # switched off, unknown number, refused
    CANCELLED = "cancelled"  # the member hung up before the customer answered
    FAILED = "failed"  # Asterisk refused a request


_DISPOSITION = {
    OutboundOutcome.COMPLETED: (Disposition.ANSWERED, AST_ANSWERED),
    OutboundOutcome.MEMBER_NO_ANSWER: (Disposition.NO_ANSWER, AST_NO_ANSWER),
    OutboundOutcome.MEMBER_BUSY: (Disposition.BUSY, AST_BUSY),
    OutboundOutcome.CUSTOMER_BUSY: (Disposition.BUSY, AST_BUSY),
    OutboundOutcome.CUSTOMER_NO_ANSWER: (Disposition.NO_ANSWER, AST_NO_ANSWER),
    OutboundOutcome.CUSTOMER_UNREACHABLE: (Disposition.FAILED, AST_FAILED),
    OutboundOutcome.CANCELLED: (Disposition.ABANDONED, AST_NO_ANSWER),
    OutboundOutcome.FAILED: (Disposition.FAILED, AST_FAILED),
}


@dataclass(frozen=True)
class OutboundFacts:
    """What happened on the call's two legs (times on the executor's clock)."""

    call_id: str  # the member leg's channel id
    outcome: OutboundOutcome
    started: datetime
    ended: datetime
    cause: int | None = None  # the cause of the leg that ended the call
    ended_by: str | None = None  # member | customer | limit
    member_answered: datetime | None = None
    customer_ringing: datetime | None = None
    connected: datetime | None = None
    customer_cause: int | None = None
    member_channel: str = ""  # Asterisk channel names
    customer_channel: str = ""
    warnings_played: tuple[int, ...] = ()

    @property
    def talk_seconds(self) -> int:
        """Whole seconds the two talked (Asterisk's billsec)."""
        return whole_seconds(self.connected, self.ended)

    def describe(self) -> str:
        """The outcome in one line for people."""
        if self.outcome is OutboundOutcome.COMPLETED:
            who = "the talk limit" if self.ended_by == "limit" else f"the {self.ended_by}"
            return f"completed: talked {self.talk_seconds} s, ended by {who}"
        text = self.outcome.value.replace("_", " ")
        return text + (f" (cause {self.cause})" if self.cause is not None else "")


def charged_seconds(plan: OutboundPlan, facts: OutboundFacts, rounding: Rounding) -> int:
    """What the call takes from the member's allowance (0 when not charged)."""
    if not plan.charged or plan.talk_limit is None:
        return 0
    return charge_for(facts.talk_seconds, plan.talk_limit, rounding)


def _hangup_by(facts: OutboundFacts) -> str | None:
    return {"member": "caller", "customer": "callee", "limit": "engine"}.get(facts.ended_by or "")


def _attempts(plan: OutboundPlan, facts: OutboundFacts) -> tuple[Attempt, ...]:
    if facts.customer_ringing is None:
        return ()
    stop = facts.connected or facts.ended
    ring = round(max(0.0, (stop - facts.customer_ringing).total_seconds()), 3)
    if facts.connected is not None:
        result = TargetResult.ANSWERED
    elif facts.outcome is OutboundOutcome.CANCELLED:
        result = TargetResult.CANCELLED
    else:
        result = classify_cause(facts.customer_cause)
    return (Attempt(plan.destination, result, facts.customer_cause, ring),)


def outbound_record(
    plan: OutboundPlan, facts: OutboundFacts, *, rounding: Rounding, node: str = ""
) -> CallRecord:
    """The call record of a finished outbound call."""
    disposition, asterisk = _DISPOSITION[facts.outcome]
    charged = charged_seconds(plan, facts, rounding)
    reasons = [*plan.reasons, facts.describe()]
    if facts.ended_by == "limit":
        reasons.append(f"talk limit of {minutes_text(plan.talk_limit or 0)} reached")
    attempts = _attempts(plan, facts)
    return CallRecord(
        call_id=facts.call_id,
        uniqueid=facts.call_id,
        linkedid=facts.call_id,
        tenant_id=plan.tenant_id,
        number=plan.caller_id,
        caller=plan.member.mobile,
        caller_raw=plan.member.mobile,
        start_time=facts.started,
        ring_time=facts.customer_ringing,
        answer_time=facts.connected,
        connect_time=facts.connected,
        end_time=facts.ended,
        ring_seconds=attempts[0].ring_seconds if attempts else 0.0,
        billsec=facts.talk_seconds,
        duration=whole_seconds(facts.started, facts.ended),
        disposition=disposition,
        closed_state=None,
        asterisk_disposition=asterisk,
        attempts=attempts,
        answered_target=plan.destination if facts.connected is not None else None,
        prompts=(),
        hangup_by=_hangup_by(facts),
        hangup_cause=facts.cause,
        plan_state="outbound",
        reasons=tuple(reasons),
        config_version=None,
        node=node,
        channel=facts.member_channel,
        dstchannel=facts.customer_channel,
        direction="outbound",
        member=plan.member.mobile,
        caller_id_shown=plan.caller_id,
        destination=plan.destination,
        charged_seconds=charged,
    )
