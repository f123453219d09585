"""Static checks of IVR menus: one case per rule, with the path and severity expected."""

from __future__ import annotations

from datetime import date
from typing import Any

from ivr_engine.domain.checks import Finding, check_document
from ivr_engine.domain.config_doc import parse_document

TODAY = date(2026, 11, 1)
TARGETS = ["010-1111-2222"]


def items(*pairs: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": k, "label": f"항목 {k}", **action} for k, action in pairs]


def check(
    menus: list[dict[str, Any]],
    *,
    tenant_menus: list[dict[str, Any]] | None = None,
    queues: list[dict[str, Any]] | None = None,
    **number: Any,
) -> list[Finding]:
    entry = {
        "number": "0505-123-4567",
        "targets": TARGETS,
        "menu": "main",
        "menus": menus,
        **number,
    }
    tenant: dict[str, Any] = {"id": "t", "name": "T", "numbers": [entry]}
    if tenant_menus is not None:
        tenant["menus"] = tenant_menus
    if queues is not None:
        tenant["queues"] = queues
    doc = parse_document({"tenants": [tenant]})
    return check_document(doc, today=TODAY)


def only(found: list[Finding]) -> tuple[str, str, str]:
    assert len(found) == 1, found
    return found[0].severity, found[0].path, found[0].message


N = "tenants[0].numbers[0]"
REPEAT = {"repeat": True}
QUEUE = {"id": "q", "agents": [{"id": "kim", "endpoint": "PJSIP/kim"}]}


def test_a_clean_menu_has_no_findings() -> None:
    menus = [
        {
            "id": "main",
            "items": items(("1", {"forward": True}), ("2", {"queue": "q"}), ("3", {"menu": "sub"})),
            "after_last": {"queue": "q"},
        },
        {"id": "sub", "items": items(("1", {"announce": True}), ("0", {"back": True}))},
    ]
    assert check(menus, queues=[QUEUE]) == []


def test_duplicate_keys() -> None:
    found = check([{"id": "main", "items": items(("1", REPEAT), ("1", {"forward": True}))}])
    assert only(found) == (
        "error",
        f"{N}.menus[0].items[1].key",
        "key 1 is already used by items[0]",
    )


def test_a_key_that_starts_a_longer_choice() -> None:
    severity, path, message = only(
        check([{"id": "main", "items": items(("1", {"forward": True}), ("12", REPEAT))}])
    )
    assert (severity, path) == ("warning", f"{N}.menus[0].items[0].key")
    assert "also the start of 12" in message


def test_missing_prompts() -> None:
    unlabelled = [
        {
            "id": "main",
            "items": [
                {"key": "1", "forward": True},
                {"key": "2", "label": "안내", "announce": True},
            ],
        }
    ]
    assert only(check(unlabelled))[:2] == ("error", f"{N}.menus[0].items[0].label")
    nothing = [
        {"id": "main", "items": [{"key": "1", "forward": True}, {"key": "2", "announce": True}]}
    ]
    severity, path, message = only(check(nothing))
    assert (severity, path) == ("error", f"{N}.menus[0]") and "no prompt" in message
    written = [
        {
            "id": "main",
            "prompt": {"text": "1번 또는 2번"},
            "items": [{"key": "1", "forward": True}, {"key": "2", "announce": True}],
        }
    ]
    assert check(written) == []


def test_a_prompt_too_long_to_speak() -> None:
    long_label = "가" * 250
    severity, path, message = only(
        check(
            [
                {
                    "id": "main",
                    "items": [
                        {"key": "1", "label": long_label, "forward": True},
                        {"key": "2", **REPEAT},
                    ],
                }
            ]
        )
    )
    assert (severity, path) == ("error", f"{N}.menus[0].prompt") and "characters" in message


def test_actions_to_unknown_menus_and_queues() -> None:
    found = check(
        [{"id": "main", "items": items(("1", {"menu": "ghost"}), ("2", {"queue": "nope"}))}],
        queues=[QUEUE],
    )
    assert [(f.severity, f.path) for f in found] == [
        ("error", f"{N}.menus[0].items[0]"),
        ("error", f"{N}.menus[0].items[1]"),
    ]
    assert 'menu "ghost"' in found[0].message and 'queue "nope"' in found[1].message


def test_unknown_entry_menu() -> None:
    found = check([{"id": "other", "items": items(("1", REPEAT))}])
    assert [(f.severity, f.path) for f in found] == [
        ("error", f"{N}.menu"),
        ("warning", f"{N}.menus[0]"),
    ]


def test_loops_without_a_choice() -> None:
    menus = [
        {
            "id": "main",
            "items": items(("1", REPEAT), ("2", {"forward": True})),
            "after_last": {"menu": "b"},
        },
        {"id": "b", "items": items(("1", {"menu": "main"}))},
    ]
    severity, path, message = only(check(menus))
    assert (severity, path) == ("error", f"{N}.menus[1]")
    assert message.endswith("b -> main -> b")


def test_a_sub_menu_pointing_at_itself_is_a_warning() -> None:
    found = check(
        [{"id": "main", "items": items(("1", {"menu": "main"}), ("2", {"forward": True}))}]
    )
    assert only(found)[:2] == ("warning", f"{N}.menus[0].items[0]")


def test_unreachable_menus() -> None:
    number_menus = [
        {"id": "main", "items": items(("1", {"forward": True}), ("2", REPEAT))},
        {"id": "lost", "items": items(("1", REPEAT), ("2", {"back": True}))},
    ]
    tenant_menus = [{"id": "spare", "items": items(("1", REPEAT), ("2", {"back": True}))}]
    found = check(number_menus, tenant_menus=tenant_menus)
    assert [(f.severity, f.path) for f in found] == [
        ("warning", f"{N}.menus[1]"),
        ("warning", "tenants[0].menus[0]"),
    ]


def test_tenant_menus_used_by_a_number_are_reachable() -> None:
    tenant_menus = [{"id": "main", "items": items(("1", {"forward": True}), ("2", REPEAT))}]
    assert check([], tenant_menus=tenant_menus) == []


def test_forward_to_the_numbers_targets_without_any() -> None:
    found = check(
        [{"id": "main", "items": items(("1", {"forward": True}), ("2", REPEAT))}], targets=[]
    )
    assert only(found)[:2] == ("error", f"{N}.menus[0].items[0]")


def test_menu_number_without_targets_but_with_a_queue_is_fine() -> None:
    found = check(
        [{"id": "main", "items": items(("1", {"queue": "q"}), ("2", REPEAT))}],
        targets=[],
        queues=[QUEUE],
    )
    assert found == []


def test_a_queue_without_agents_is_a_warning() -> None:
    menus = [{"id": "main", "items": items(("1", {"queue": "q"}), ("2", {"forward": True}))}]
    assert only(check(menus, queues=[{"id": "q", "max_wait_seconds": 120}])) == (
        "warning",
        "tenants[0].queues[0].agents",
        'queue "q" has no agents: callers wait 120 s for the overflow '
        "unless agents are added with ivr-engine agent add",
    )
    assert check(menus, queues=[QUEUE]) == []
    entry = {"number": "0505-123-4567", "targets": TARGETS, "menu": "main", "menus": menus}
    entry["queues"] = [{"id": "q"}]  # the number's own queue replaces the tenant's
    doc = parse_document({"tenants": [{"id": "t", "queues": [QUEUE], "numbers": [entry]}]})
    severity, path, _ = only(check_document(doc, today=TODAY))
    assert (severity, path) == ("warning", f"{N}.queues[0].agents")
