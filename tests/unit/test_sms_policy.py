"""The callback_sms policy: validated at save time with clear errors, round-tripped, merged
number-over-tenant, and carried through the configuration document."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from ivr_engine.domain.config_doc import (
    document_to_data,
    parse_document,
    resolve_all,
    settings_from_data,
    settings_to_data,
)
from ivr_engine.domain.sms_policy import (
    MISSED,
    Approval,
    OffHours,
    PolicyError,
    SmsPolicy,
    Template,
    TimeWindow,
    Trigger,
    effective,
    merge_policies,
    parse_policy,
    parse_window,
    policy_to_data,
)
from ivr_engine.errors import ValidationError

FULL: dict[str, Any] = {
    "enabled": True,
    "business": "강남피자",
    "triggers": ["missed", "answered"],
    "min_duration": 3,
    "delay": 60,
    "approval": "manual",
    "templates": {
        "missed": "{business}입니다. {time} 부재중 전화 감사합니다.",
        "answered": {"text": "메뉴 보기", "subject": "강남피자 메뉴", "image": "menu.jpg"},
    },
    "advertising": True,
    "optout_number": "080-123-4567",
    "night": "drop",
    "window": "09:00-20:00",
    "outside_window": "hold",
    "daily_cap": 200,
    "caller_daily_cap": 2,
    "dedupe_days": 7,
    "max_image_bytes": 500_000,
}


def test_full_policy_parses_and_round_trips() -> None:
    policy = parse_policy(FULL)
    assert policy.triggers == MISSED | {Trigger.ANSWERED}
    assert policy.approval is Approval.MANUAL and policy.night is OffHours.DROP
    assert policy.window == TimeWindow(time(9), time(20))
    assert policy.optout_number == "0801234567"
    assert dict(policy.templates or ())["answered"] == Template(
        "메뉴 보기", "강남피자 메뉴", "menu.jpg"
    )
    assert parse_policy(policy_to_data(policy)) == policy


def test_false_switches_it_off() -> None:
    assert parse_policy(False) == SmsPolicy(enabled=False)


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"colour": 1}, "callback_sms.colour", "unknown key 'colour'"),
        ({"advertising": True}, "callback_sms", "needs optout_number"),
        ({"optout_number": "010-1234-5678"}, "callback_sms.optout_number", "not a free 080"),
        ({"optout_number": 801234567}, "callback_sms.optout_number", "quoted text"),
        (
            {"templates": {"missed": {"text": "메뉴", "image": "menu.png"}}},
            "callback_sms.templates.missed.image",
            "only JPEG",
        ),
        (
            {"templates": {"missed": {"text": "메뉴", "image": "menu.gif"}}},
            "callback_sms.templates.missed.image",
            "only JPEG",
        ),
        (
            {"templates": {"missed": "{name}님 감사합니다"}},
            "callback_sms.templates.missed.text",
            "unknown variable {name}",
        ),
        ({"templates": {"later": "x"}}, "callback_sms.templates.later", "not one of"),
        ({"templates": {"missed": "피자 🍕"}}, "callback_sms.templates.missed.text", "CP949"),
        (
            {"templates": {"missed": "가" * 990 + "{business}"}},
            "callback_sms.templates.missed",
            "2020 bytes",
        ),
        ({"triggers": ["sometimes"]}, "callback_sms.triggers[0]", "not one of"),
        ({"window": "9-20"}, "callback_sms.window", "not a time window"),
        ({"window": "09:00-25:00"}, "callback_sms.window", "not a time window"),
        ({"daily_cap": 0}, "callback_sms.daily_cap", "from 1 to"),
        ({"dedupe_days": 91}, "callback_sms.dedupe_days", "from 0 to 90"),
        ({"delay": True}, "callback_sms.delay", "whole number"),
        ({"night": "later"}, "callback_sms.night", "not one of hold, drop"),
        ({"approval": "maybe"}, "callback_sms.approval", "not one of auto, manual"),
        ("yes", "callback_sms", "expected a mapping"),
    ],
)
def test_refused_at_save_time(data: Any, path: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(data)
    assert info.value.path == path
    assert message in info.value.message


def test_advertising_frame_counts_toward_the_limit() -> None:
    text = "가" * 985  # 1,970 bytes: fits alone, not with the frame
    parse_policy({"templates": {"missed": text}})
    with pytest.raises(PolicyError, match="bytes"):
        parse_policy(
            {"templates": {"missed": text}, "advertising": True, "optout_number": "080-123-4567"}
        )


def test_windows() -> None:
    w = parse_window("22:00-02:00")
    assert w.contains(time(23)) and w.contains(time(1, 59)) and not w.contains(time(2))
    day = parse_window("09:00-20:00")
    assert day.contains(time(9)) and day.contains(time(19, 59)) and not day.contains(time(20))
    assert parse_window("00:00-24:00").contains(time(12))
    assert str(parse_window("09:00-24:00")) == "09:00-24:00"


def test_number_wins_field_by_field_and_templates_merge() -> None:
    tenant = parse_policy(
        {
            "templates": {"missed": "tenant missed", "answered": "tenant ans"},
            "window": "09:00-20:00",
            "daily_cap": 150,
        }
    )
    number = parse_policy({"templates": {"missed": "number missed"}, "daily_cap": 500})
    merged = merge_policies(tenant, number)
    assert merged is not None
    assert dict(merged.templates or ()) == {
        "answered": Template("tenant ans"),
        "missed": Template("number missed"),
    }
    assert merged.daily_cap == 500 and merged.window == TimeWindow(time(9), time(20))
    assert merge_policies(None, number) is number and merge_policies(tenant, None) is tenant
    assert merge_policies(None, None) is None


def test_defaults() -> None:
    full = effective(SmsPolicy())
    assert full.enabled and full.triggers == MISSED and full.approval is Approval.AUTO
    assert full.night is OffHours.HOLD and full.max_image_bytes == 1024 * 1024
    assert full.template(Trigger.BUSY) is None


def test_specific_template_wins_over_missed() -> None:
    full = effective(parse_policy({"templates": {"missed": "m", "busy": "b"}}))
    assert full.template(Trigger.BUSY) == Template("b")
    assert full.template(Trigger.NO_ANSWER) == Template("m")
    assert full.template(Trigger.ANSWERED) is None


DOC = {
    "tenants": [
        {
            "id": "t1",
            "name": "강남피자",
            "callback_sms": {"templates": {"missed": "{business} 부재중"}, "window": "09:00-20:00"},
            "numbers": [
                {"number": "0505-123-4567", "callback_sms": {"delay": 30}},
                {"number": "0505-123-4568"},
                {"number": "0505-123-4569", "callback_sms": False},
            ],
        }
    ]
}


def test_config_document_carries_and_resolves_the_policy() -> None:
    doc = parse_document(DOC)
    assert parse_document(document_to_data(doc)) == doc
    configs = resolve_all(doc)
    first = configs["05051234567"].callback_sms
    assert first is not None and first.delay == 30 and first.window is not None
    assert configs["05051234568"].callback_sms == doc.tenants[0].defaults.callback_sms
    off = configs["05051234569"].callback_sms
    assert off is not None and off.enabled is False and off.templates is not None


def test_settings_layer_round_trip_through_data() -> None:
    layer = settings_from_data({"callback_sms": FULL})
    assert settings_from_data(settings_to_data(layer)) == layer


def test_document_errors_name_the_path() -> None:
    bad = {
        "tenants": [
            {
                "id": "t1",
                "numbers": [{"number": "0505-123-4567", "callback_sms": {"advertising": True}}],
            }
        ]
    }
    with pytest.raises(
        ValidationError, match=r"cfg\.yaml: tenants\[0\]\.numbers\[0\]\.callback_sms: .*optout"
    ):
        parse_document(bad, "cfg.yaml")
