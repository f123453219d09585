"""Members, caller IDs and outbound rules in the configuration: parsing, the round trip
through data, and the static checks (one table row per rule)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ivr_engine.domain.checks import ERROR, WARNING, check_document
from ivr_engine.domain.config_doc import document_to_data, parse_document
from ivr_engine.domain.members import EmergencyPolicy, Role, Rounding
from ivr_engine.errors import ValidationError

CALLER_IDS = [
    {"number": "0505-123-4567", "verified": True, "evidence": "050 가입증명서"},
    {"number": "02-333-4444", "verified": False},
]
MEMBER = {
    "name": "김민수",
    "mobile": "010-7777-8888",
    "role": "manager",
    "caller_ids": ["0505-123-4567"],
}


def doc(**tenant: Any) -> Any:
    """A one-tenant document with one number and the given tenant keys."""
    entry = {"number": "0505-123-4567", "targets": ["010-1111-2222"]}
    return parse_document({"tenants": [{"id": "t", "name": "T", **tenant, "numbers": [entry]}]})


def member_findings(**tenant: Any) -> list[tuple[str, str, str]]:
    found = check_document(doc(**tenant), today=date(2026, 11, 1))
    return [(f.severity, f.path, f.message) for f in found]


def test_members_caller_ids_and_rules_parse_and_round_trip() -> None:
    parsed = doc(
        caller_ids=CALLER_IDS,
        members=[MEMBER, {"name": "이영희", "mobile": "+82 10-5555-1234"}],
        outbound={
            "hours": {"mon-fri": ["09:00-18:00"]},
            "rounding": "per_10_seconds",
            "emergency": "refuse",
            "blocked_destinations": ["031-123", 700],
        },
    )
    tenant = parsed.tenants[0]
    assert [c.number for c in tenant.caller_ids] == ["05051234567", "023334444"]
    kim, lee = tenant.members
    assert (kim.mobile, kim.role, kim.caller_ids) == ("01077778888", Role.MANAGER, ("05051234567",))
    assert (lee.mobile, lee.role, lee.caller_ids) == ("01055551234", Role.MEMBER, None)
    rules = tenant.outbound
    assert rules.rounding is Rounding.PER_10_SECONDS and rules.rounding.unit == 10
    assert rules.emergency is EmergencyPolicy.REFUSE
    assert rules.blocked_destinations == ("031123", "700")
    assert parse_document(document_to_data(parsed)) == parsed


def test_a_tenant_without_the_keys_says_nothing_about_them() -> None:
    tenant = doc().tenants[0]
    assert (tenant.caller_ids, tenant.members, tenant.outbound) == (None, None, None)
    assert "members" not in document_to_data(doc())["tenants"][0]


@pytest.mark.parametrize(
    ("tenant", "where"),
    [
        ({"members": [{"name": "x", "mobile": "010-12"}]}, "tenants[0].members[0].mobile"),
        ({"members": [{"name": "x", "mobile": 1077778888}]}, "tenants[0].members[0].mobile"),
        ({"members": [{"mobile": "010-7777-8888"}]}, "tenants[0].members[0]"),
        (
            {"members": [{"name": "x", "mobile": "010-7777-8888", "role": "boss"}]},
            "tenants[0].members[0].role",
        ),
        (
            {"caller_ids": [{"number": "0505-123-4567", "verified": "yes"}]},
            "tenants[0].caller_ids[0].verified",
        ),
        ({"outbound": {"rounding": "per_hour"}}, "tenants[0].outbound.rounding"),
        ({"outbound": {"hours": {"mon": ["25:00-26:00"]}}}, "tenants[0].outbound.hours.mon[0]"),
        ({"outbound": {"colour": 1}}, "tenants[0].outbound.colour"),
    ],
)
def test_malformed_entries_name_their_path(tenant: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as err:
        doc(**tenant)
    assert err.value.path == f"<config>: {where}"


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        (  # a member's caller ID the tenant never declared
            {
                "caller_ids": CALLER_IDS[:1],
                "members": [{**MEMBER, "caller_ids": ["070-1234-5678"]}],
            },
            [
                (
                    ERROR,
                    "tenants[0].members[0].caller_ids[0]",
                    "caller ID 070-1234-5678 is not declared in the tenant's caller_ids",
                ),
                (
                    WARNING,
                    "tenants[0].members[0]",
                    "member 김민수 has no verified caller ID and cannot call out",
                ),
            ],
        ),
        (  # an unverified caller ID used by a member
            {
                "caller_ids": CALLER_IDS,
                "members": [{**MEMBER, "caller_ids": ["0505-123-4567", "02-333-4444"]}],
            },
            [
                (
                    WARNING,
                    "tenants[0].caller_ids[1].verified",
                    "caller ID 02-333-4444 is not verified: outbound calls showing it are refused",
                ),
                (
                    WARNING,
                    "tenants[0].members[0].caller_ids[1]",
                    "caller ID 02-333-4444 is not verified: 김민수's calls showing it are refused",
                ),
            ],
        ),
        (  # a landline is no mobile
            {"caller_ids": CALLER_IDS[:1], "members": [{**MEMBER, "mobile": "02-555-6666"}]},
            [
                (
                    ERROR,
                    "tenants[0].members[0].mobile",
                    "02-55*-66** is not a mobile number (010-XXXX-XXXX)",
                )
            ],
        ),
        (  # one mobile, two members
            {"caller_ids": CALLER_IDS[:1], "members": [MEMBER, {**MEMBER, "name": "김민수2"}]},
            [
                (
                    ERROR,
                    "tenants[0].members[1].mobile",
                    "010-77**-88** is already a member at tenants[0].members[0]",
                )
            ],
        ),
        (  # the same caller ID twice
            {"caller_ids": CALLER_IDS[:1] * 2},
            [(ERROR, "tenants[0].caller_ids[1].number", "0505-123-4567 is declared twice")],
        ),
        ({"caller_ids": CALLER_IDS[:1], "members": [MEMBER]}, []),
    ],
)
def test_member_checks(tenant: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert member_findings(**tenant) == expected


def test_another_tenants_virtual_number_is_not_a_caller_id() -> None:
    data = {
        "tenants": [
            {"id": "a", "numbers": [{"number": "0505-999-0000", "targets": ["010-1111-2222"]}]},
            {"id": "b", "caller_ids": [{"number": "0505-999-0000", "verified": True}]},
        ]
    }
    found = check_document(parse_document(data), today=date(2026, 11, 1))
    assert [(f.severity, f.path) for f in found] == [(ERROR, "tenants[1].caller_ids[0].number")]
