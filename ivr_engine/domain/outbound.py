"""Planning an outbound call of a member (click-to-call), pure.

``plan_outbound`` takes who calls, whom, which caller ID was asked for, the tenant's caller
IDs and rules, the time and the member's remaining seconds, and returns either a
``Refusal`` (a stable code and a message for people) or an ``OutboundPlan``: ring the
member showing the caller ID, play "connecting you", dial the customer showing the caller
ID, bridge them, end the call at the talk limit with warning tones before.

The rules, in order: the destination must be a number; emergency numbers (112, 119, ...)
are never masked: dialled showing the member's own mobile, not limited nor charged, or
refused, per the tenant's ``emergency`` setting; premium-rate (060, 700), international and
the tenant's blocked prefixes are refused; outside the tenant's outbound hours calls are
refused; the caller ID must be one the member may use, declared and verified (Korea's
발신번호 사전등록); the member must have at least one charging unit of talk time left.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ivr_engine.domain.members import (
    CallerId,
    EmergencyPolicy,
    Member,
    OutboundRules,
    allowed_caller_ids,
)
from ivr_engine.domain.minutes import minutes_text, talk_limit
from ivr_engine.domain.model import Schedule
from ivr_engine.domain.numbers import NumberKind, format_number, mask, parse_number
from ivr_engine.domain.schedule import ScheduleState, local_time, schedule_state
from ivr_engine.errors import ValidationError

# Emergency and reporting numbers (police, fire, coast guard, spy, cyber crime, school
# violence, child abuse ...): reached with the caller's real number, never masked.
EMERGENCY_NUMBERS = frozenset({"112", "119", "122", "113", "111", "117", "118", "125", "182"})
PREMIUM_PREFIXES = ("060", "700")  # information services billed to the caller
WARNING_TONES = (60, 10)  # seconds before the talk limit a warning tone plays
CONNECTING_PROMPT = "connecting"  # the system prompt the member hears first


class RefusalCode(StrEnum):
    """Why an outbound call was not placed (stable, for the CLI, the API and logs)."""

    DESTINATION_INVALID = "destination-invalid"
    DESTINATION_BLOCKED = "destination-blocked"
    EMERGENCY_REFUSED = "emergency-refused"
    OUTSIDE_HOURS = "outside-hours"
    CALLER_ID_NOT_ALLOWED = "caller-id-not-allowed"
    CALLER_ID_UNVERIFIED = "caller-id-unverified"
    NO_CALLER_ID = "no-caller-id"
    NO_MINUTES = "no-minutes"


@dataclass(frozen=True)
class Refusal:
    """The call is not placed: a code and a message saying why."""

    code: RefusalCode
    message: str


@dataclass(frozen=True)
class OutboundPlan:
    """What the executor does. ``talk_limit`` None: no limit (an emergency call)."""

    tenant_id: str
    member: Member
    destination: str  # normalised digits
    caller_id: str  # what the customer's phone shows
    member_caller_id: str  # what the member's phone shows while it rings
    ring_seconds: int
    talk_limit: int | None
    warnings: tuple[int, ...]  # seconds before the limit a warning tone plays
    charged: bool  # the talk time comes from the member's allowance
    masked: bool  # False: the customer sees the member's own mobile
    connecting_prompt: str = CONNECTING_PROMPT
    reasons: tuple[str, ...] = ()

    def with_limit(self, seconds: int) -> OutboundPlan:
        """The plan with the talk limit actually reserved (and its warnings)."""
        return dataclasses.replace(self, talk_limit=seconds, warnings=warnings_for(seconds))


@dataclass(frozen=True)
class OutboundRequest:
    """Who calls whom, showing what (None: the member's first verified caller ID), when."""

    tenant_id: str
    member: Member
    destination: str  # as typed
    now: datetime
    caller_id: str | None = None


def warnings_for(limit: int) -> tuple[int, ...]:
    """The warning tones that fit inside a talk limit."""
    return tuple(w for w in WARNING_TONES if w < limit)


def _destination(text: str) -> str | Refusal:
    try:
        parsed = parse_number(text)
    except ValidationError:
        parsed = None
    if parsed is None or parsed.kind is NumberKind.ANONYMOUS or not parsed.digits:
        return Refusal(RefusalCode.DESTINATION_INVALID, f"{mask(text)} is not a phone number")
    return parsed.digits


def _blocked(digits: str, rules: OutboundRules) -> Refusal | None:
    if digits.startswith("+") or digits.startswith("00"):
        return Refusal(RefusalCode.DESTINATION_BLOCKED, "international calls are not allowed")
    if digits.startswith(PREMIUM_PREFIXES):
        return Refusal(
            RefusalCode.DESTINATION_BLOCKED,
            f"{format_number(digits)} is a premium-rate number (060, 700) and is not dialled",
        )
    if any(digits.startswith(p) for p in rules.blocked_destinations):
        return Refusal(
            RefusalCode.DESTINATION_BLOCKED, f"{mask(digits)} is blocked by the tenant's rules"
        )
    return None


def _caller_id(request: OutboundRequest, caller_ids: tuple[CallerId, ...]) -> str | Refusal:
    """The caller ID to show: the one asked for if the member may use it and it is
    verified, else the member's first verified one."""
    allowed = allowed_caller_ids(request.member, caller_ids)
    declared = {c.number: c for c in caller_ids}
    if request.caller_id is not None:
        wanted = _destination(request.caller_id)
        if isinstance(wanted, Refusal) or wanted not in allowed or wanted not in declared:
            shown = format_number(wanted) if isinstance(wanted, str) else mask(request.caller_id)
            return Refusal(
                RefusalCode.CALLER_ID_NOT_ALLOWED,
                f"{request.member.name} may not show {shown}; allowed: "
                + (", ".join(format_number(n) for n in allowed) or "none"),
            )
        if not declared[wanted].verified:
            return Refusal(
                RefusalCode.CALLER_ID_UNVERIFIED,
                f"caller ID {format_number(wanted)} is not verified yet: only numbers the "
                "company proved it owns may be shown (발신번호 사전등록)",
            )
        return wanted
    for number in allowed:
        if number in declared and declared[number].verified:
            return number
    return Refusal(
        RefusalCode.NO_CALLER_ID, f"{request.member.name} has no verified caller ID to show"
    )


def _open(rules: OutboundRules, now: datetime, timezone: str) -> bool:
    if rules.hours is None:
        return True
    local = local_time(now, timezone)
    return schedule_state(Schedule(open=rules.hours), local).state is ScheduleState.OPEN


def _emergency(
    request: OutboundRequest, digits: str, rules: OutboundRules
) -> OutboundPlan | Refusal:
    if rules.emergency is EmergencyPolicy.REFUSE:
        return Refusal(
            RefusalCode.EMERGENCY_REFUSED,
            f"{digits} is an emergency number: call it from your own phone",
        )
    own = request.member.mobile
    return OutboundPlan(
        tenant_id=request.tenant_id,
        member=request.member,
        destination=digits,
        caller_id=own,
        member_caller_id=own,
        ring_seconds=rules.ring_seconds,
        talk_limit=None,
        warnings=(),
        charged=False,
        masked=False,
        reasons=(f"emergency number {digits}: dialled showing the member's own number",),
    )


def plan_outbound(
    request: OutboundRequest,
    caller_ids: tuple[CallerId, ...],
    rules: OutboundRules,
    timezone: str,
    available_seconds: int,
) -> OutboundPlan | Refusal:
    """Decide an outbound call (see the module docstring for the rules and their order)."""
    digits = _destination(request.destination)
    if isinstance(digits, Refusal):
        return digits
    if digits in EMERGENCY_NUMBERS:
        return _emergency(request, digits, rules)
    blocked = _blocked(digits, rules)
    if blocked is not None:
        return blocked
    if not _open(rules, request.now, timezone):
        local = local_time(request.now, timezone)
        return Refusal(
            RefusalCode.OUTSIDE_HOURS,
            f"outbound calls are not allowed at {local:%a %H:%M} ({timezone})",
        )
    caller_id = _caller_id(request, caller_ids)
    if isinstance(caller_id, Refusal):
        return caller_id
    limit = talk_limit(available_seconds, rules.rounding, rules.max_call_minutes * 60)
    if limit == 0:
        return Refusal(
            RefusalCode.NO_MINUTES,
            f"{request.member.name} has {minutes_text(max(0, available_seconds))} left; "
            f"a call needs at least {minutes_text(rules.rounding.unit)}",
        )
    return OutboundPlan(
        tenant_id=request.tenant_id,
        member=request.member,
        destination=digits,
        caller_id=caller_id,
        member_caller_id=caller_id,
        ring_seconds=rules.ring_seconds,
        talk_limit=limit,
        warnings=warnings_for(limit),
        charged=True,
        masked=True,
        reasons=(
            f"{mask(digits)} shown {format_number(caller_id)}; talk limit {minutes_text(limit)}",
        ),
    )
