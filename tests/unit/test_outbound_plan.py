"""The outbound planner as a table: (member, caller ID asked, destination, time, minutes)
-> refusal code, or the plan's caller IDs, talk limit and warnings."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.domain.members import (
    CallerId,
    EmergencyPolicy,
    Member,
    OutboundRules,
    Rounding,
)
from ivr_engine.domain.model import Interval
from ivr_engine.domain.outbound import (
    OutboundPlan,
    OutboundRequest,
    Refusal,
    RefusalCode,
    plan_outbound,
)

SEOUL = ZoneInfo("Asia/Seoul")
FRI_NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)
FRI_NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=SEOUL)
VN, LANDLINE, OTHER = "05051234567", "023334444", "07012345678"
CALLER_IDS = (CallerId(VN, True, "050 가입증명서"), CallerId(LANDLINE, False))
KIM = Member("김민수", "01077778888", caller_ids=(VN, LANDLINE))
ANY = Member("이영희", "01055551234")  # may use any of the tenant's caller IDs
RULES = OutboundRules()


def hours() -> OutboundRules:
    """Outbound calls Monday to Friday, 09:00-18:00."""
    return OutboundRules(hours=tuple((d, (Interval(time(9), time(18)),)) for d in range(5)))


def plan(
    destination: str,
    *,
    member: Member = KIM,
    caller_id: str | None = None,
    now: datetime = FRI_NOON,
    rules: OutboundRules = RULES,
    available: int = 600,
) -> OutboundPlan | Refusal:
    request = OutboundRequest("acme", member, destination, now, caller_id)
    return plan_outbound(request, CALLER_IDS, rules, "Asia/Seoul", available)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"destination": "hello"}, RefusalCode.DESTINATION_INVALID),
        ({"destination": "anonymous"}, RefusalCode.DESTINATION_INVALID),
        ({"destination": "060-700-1234"}, RefusalCode.DESTINATION_BLOCKED),
        ({"destination": "700-1234"}, RefusalCode.DESTINATION_BLOCKED),
        ({"destination": "+1 202 555 0100"}, RefusalCode.DESTINATION_BLOCKED),
        (
            {"destination": "031-123-4567", "rules": OutboundRules(blocked_destinations=("031",))},
            RefusalCode.DESTINATION_BLOCKED,
        ),
        (
            {"destination": "010-2000-3000", "now": FRI_NIGHT, "rules": hours()},
            RefusalCode.OUTSIDE_HOURS,
        ),
        (
            {"destination": "010-2000-3000", "caller_id": "02-333-4444"},
            RefusalCode.CALLER_ID_UNVERIFIED,
        ),
        (
            {"destination": "010-2000-3000", "caller_id": "070-1234-5678"},
            RefusalCode.CALLER_ID_NOT_ALLOWED,
        ),
        ({"destination": "010-2000-3000", "caller_id": "xyz"}, RefusalCode.CALLER_ID_NOT_ALLOWED),
        (
            {
                "destination": "010-2000-3000",
                "member": Member("박", "01011112222", caller_ids=(LANDLINE,)),
            },
            RefusalCode.NO_CALLER_ID,
        ),
        ({"destination": "010-2000-3000", "available": 59}, RefusalCode.NO_MINUTES),
        ({"destination": "010-2000-3000", "available": 0}, RefusalCode.NO_MINUTES),
        (
            {"destination": "112", "rules": OutboundRules(emergency=EmergencyPolicy.REFUSE)},
            RefusalCode.EMERGENCY_REFUSED,
        ),
    ],
)
def test_refusals(kwargs: dict, code: RefusalCode) -> None:
    result = plan(**kwargs)
    assert isinstance(result, Refusal) and result.code is code, result
    assert result.message


@pytest.mark.parametrize(
    ("kwargs", "caller_id", "limit", "warnings"),
    [
        ({"destination": "010-2000-3000"}, VN, 600, (60, 10)),
        ({"destination": "+82 10-2000-3000", "member": ANY}, VN, 600, (60, 10)),
        ({"destination": "010-2000-3000", "caller_id": "0505-123-4567"}, VN, 600, (60, 10)),
        ({"destination": "010-2000-3000", "available": 125}, VN, 120, (60, 10)),
        (
            {
                "destination": "010-2000-3000",
                "available": 65,
                "rules": OutboundRules(rounding=Rounding.PER_10_SECONDS),
            },
            VN,
            60,
            (10,),
        ),
        ({"destination": "010-2000-3000", "available": 9999}, VN, 3600, (60, 10)),
        ({"destination": "010-2000-3000", "now": FRI_NOON, "rules": hours()}, VN, 600, (60, 10)),
    ],
)
def test_plans(kwargs: dict, caller_id: str, limit: int, warnings: tuple[int, ...]) -> None:
    result = plan(**kwargs)
    assert isinstance(result, OutboundPlan), result
    assert (result.caller_id, result.member_caller_id) == (caller_id, caller_id)
    assert (result.talk_limit, result.warnings) == (limit, warnings)
    assert result.destination == "01020003000" and result.masked and result.charged


def test_emergency_numbers_are_never_masked_limited_or_charged() -> None:
    result = plan("119", available=0, now=FRI_NIGHT, rules=hours())
    assert isinstance(result, OutboundPlan)
    assert (result.caller_id, result.member_caller_id) == (KIM.mobile, KIM.mobile)
    assert (result.talk_limit, result.warnings, result.charged, result.masked) == (
        None,
        (),
        False,
        False,
    )


def test_the_reserved_limit_replaces_the_planned_one() -> None:
    result = plan("010-2000-3000")
    assert isinstance(result, OutboundPlan)
    assert (result.with_limit(50).talk_limit, result.with_limit(50).warnings) == (50, (10,))
