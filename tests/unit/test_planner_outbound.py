"""The planner's outbound cases, as tables: the access number, and reverse masking (a
customer calling the shown number back reaches the member while the session lasts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr_engine.domain.config_doc import parse_document, resolve_all
from ivr_engine.domain.members import OutboundRules
from ivr_engine.domain.model import CallerIdMode, NumberConfig, NumberStatus
from ivr_engine.domain.planner import AccessStep, AnswerStep, DialStep, Outcome, plan_call
from ivr_engine.domain.proxy import ProxySession, session_expiry

VN, ACCESS, KIM = "05051234567", "05051239999", "01077778888"
CUSTOMER, TARGET = "01020003000", "01011112222"
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Fri 12:00 in Seoul
NIGHT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # Sat 00:00 in Seoul: closed

DOC = {
    "tenants": [
        {
            "id": "acme",
            "caller_ids": [{"number": "0505-123-4567", "verified": True}, "02-333-4444"],
            "members": [{"name": "김민수", "mobile": "010-7777-8888"}],
            "outbound": {"access_number": "0505-123-9999", "reverse_masking_hours": 24},
            "numbers": [
                {
                    "number": "0505-123-4567",
                    "targets": ["010-1111-2222"],
                    "schedule": {"open": {"mon-fri": ["09:00-18:00"]}},
                },
                {"number": "0505-123-9999"},
                {"number": "0505-123-0000", "targets": ["010-1111-2222"]},
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def configs() -> dict[str, NumberConfig]:
    return resolve_all(parse_document(DOC, "<t>"))


def session(expires: datetime, customer: str = CUSTOMER) -> ProxySession:
    return ProxySession("acme", customer, "김민수", KIM, VN, expires)


def test_resolved_flags(configs: dict[str, NumberConfig]) -> None:
    assert (configs[VN].reverse_masking, configs[VN].access_number) == (True, False)
    assert (configs[ACCESS].reverse_masking, configs[ACCESS].access_number) == (False, True)
    assert not configs["05051230000"].reverse_masking  # not a caller ID


@pytest.mark.parametrize(
    ("when", "expires", "caller", "rings", "outcome"),
    [
        (NOW, NOW + timedelta(hours=1), CUSTOMER, KIM, Outcome.FORWARD),  # live: the member
        (NIGHT, NIGHT + timedelta(hours=1), CUSTOMER, KIM, Outcome.FORWARD),  # closed: still
        (NOW, NOW, CUSTOMER, TARGET, Outcome.FORWARD),  # expired: the normal plan
        (NOW, NOW - timedelta(seconds=1), CUSTOMER, TARGET, Outcome.FORWARD),
        (NIGHT, NIGHT - timedelta(hours=1), CUSTOMER, None, Outcome.ANNOUNCE),  # expired, closed
        (NOW, NOW + timedelta(hours=1), "01099998888", TARGET, Outcome.FORWARD),  # not theirs
    ],
)
def test_reverse_masking(
    configs: dict[str, NumberConfig],
    when: datetime,
    expires: datetime,
    caller: str,
    rings: str | None,
    outcome: Outcome,
) -> None:
    plan = plan_call(configs[VN], caller, VN, when, session(expires, CUSTOMER))
    assert plan.outcome is outcome
    dial = plan.dial
    assert (dial.targets[0].number if dial else None) == rings
    if rings == KIM:
        assert isinstance(dial, DialStep)
        assert (dial.caller_id, dial.caller_id_mode) == (VN, CallerIdMode.VIRTUAL)
        assert dial.whisper is None and len(dial.targets) == 1
        assert any("김민수" in r for r in plan.reasons)


def test_session_ignored_on_a_number_without_reverse_masking(
    configs: dict[str, NumberConfig],
) -> None:
    other = configs["05051230000"]
    plan = plan_call(other, CUSTOMER, other.number, NOW, session(NOW + timedelta(hours=1)))
    assert plan.dial is not None and plan.dial.targets[0].number == TARGET


def test_blocked_caller_is_refused_even_with_a_session(configs: dict[str, NumberConfig]) -> None:
    config = configs[VN]
    blocked = NumberConfig(**{**config.__dict__, "block_list": frozenset({CUSTOMER})})
    plan = plan_call(blocked, CUSTOMER, VN, NOW, session(NOW + timedelta(hours=1)))
    assert plan.outcome is Outcome.ANNOUNCE and plan.dial is None


@pytest.mark.parametrize("when", [NOW, NIGHT])
def test_access_number_runs_the_access_ivr_at_any_hour(
    configs: dict[str, NumberConfig], when: datetime
) -> None:
    plan = plan_call(configs[ACCESS], KIM, ACCESS, when)
    assert plan.outcome is Outcome.ACCESS
    assert plan.steps == (AnswerStep(), AccessStep("acme"))
    assert plan.to_json()["steps"][1] == {"action": "access", "tenant": "acme"}


def test_paused_access_number_is_announced(configs: dict[str, NumberConfig]) -> None:
    paused = NumberConfig(**{**configs[ACCESS].__dict__, "status": NumberStatus.PAUSED})
    assert plan_call(paused, KIM, ACCESS, NOW).outcome is Outcome.ANNOUNCE


@pytest.mark.parametrize(("hours", "expected"), [(0, None), (72, NOW + timedelta(hours=72))])
def test_session_expiry(hours: int, expected: datetime | None) -> None:
    assert session_expiry(OutboundRules(reverse_masking_hours=hours), NOW) == expected


def test_access_number_must_be_one_of_the_tenants_numbers() -> None:
    from ivr_engine.domain.member_checks import check_members

    tenant = {**DOC["tenants"][0], "outbound": {"access_number": "0505-111-2222"}}
    found = check_members(parse_document({"tenants": [tenant]}, "<t>"))
    errors = [f for f in found if f.severity == "error"]
    assert [f.path for f in errors] == ["tenants[0].outbound.access_number"]
    assert "0505-111-2222" in errors[0].message
    assert not [f for f in check_members(parse_document(DOC, "<t>")) if f.severity == "error"]
