"""Changing accounts and the SMS outbox from the console: a user's role, branch and
disabled flag with the version the form was read at (a stale form is refused), within the
roles the signed-in user may grant, audited; held texts approved or discarded, inside the
reach, audited."""

from __future__ import annotations

import re

from tests.api.conftest import PIZZA
from tests.console.conftest import ConsoleServer


def _edit_form(text: str, user_id: int) -> dict[str, str]:
    form = text.split(f'id="user-edit-{user_id}"')[1].split("</form>")[0]
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version, form
    return {"version": version.group(1)}


async def test_an_owner_changes_a_role_and_disables_an_account(console: ConsoleServer) -> None:
    staff_id = console.users["staff"]
    owner = await console.as_role("owner")
    staff = await console.as_role("staff")
    _, text = await owner.get("/users")
    form = _edit_form(text, staff_id)
    status, text, _ = await owner.post(
        f"/users/{staff_id}", {**form, "role": "branch-manager", "branch": "gangnam"}
    )
    assert status == 200 and "사용자 정보를 바꿨습니다" in text
    row = await console.pool.fetchrow("SELECT role, branch_id FROM users WHERE id = $1", staff_id)
    assert tuple(row) == ("branch-manager", "gangnam")
    # The same form again: its version is stale now.
    status, text, _ = await owner.post(f"/users/{staff_id}", {**form, "role": "staff"})
    assert status == 409 and "다른 사용자가 먼저 변경했습니다" in text
    form = _edit_form(text, staff_id)  # the reloaded page carries the latest version
    status, text, _ = await owner.post(
        f"/users/{staff_id}",
        {**form, "role": "branch-manager", "branch": "gangnam", "disabled": "on"},
    )
    assert status == 200
    assert await console.pool.fetchval("SELECT disabled FROM users WHERE id = $1", staff_id)
    status, _ = await staff.get("/")  # their session ended with the account
    assert status == 200 and "login-form" in (await staff.get("/"))[1]
    audited = await console.pool.fetch(
        "SELECT actor, old_value->>'role' AS old, new_value->>'role' AS new, "
        "new_value->>'disabled' AS disabled FROM audit_log WHERE action = 'user.update' "
        "AND resource_id = $1 ORDER BY id",
        str(staff_id),
    )
    assert [tuple(r) for r in audited] == [
        ("owner@pizza.kr", "staff", "branch-manager", "false"),
        ("owner@pizza.kr", "branch-manager", "branch-manager", "true"),
    ]


async def test_role_changes_follow_what_the_user_may_grant(console: ConsoleServer) -> None:
    owner = await console.as_role("owner")
    _, text = await owner.get("/users")
    assert f'id="user-edit-{console.users["admin"]}"' not in text  # not theirs to change
    assert f'id="user-edit-{console.users["other"]}"' not in text  # another tenant's
    manager_id = console.users["manager"]
    form = _edit_form(text, manager_id)
    status, _, _ = await owner.post(f"/users/{manager_id}", {**form, "role": "platform-admin"})
    assert status == 403
    status, _, _ = await owner.post(f"/users/{console.users['other']}", {**form, "role": "staff"})
    assert status == 404
    status, text, _ = await owner.post(
        f"/users/{manager_id}", {**form, "role": "branch-manager", "branch": "gangnam"}
    )
    assert status == 200 and "바뀐 내용이 없습니다" in text
    status, text, _ = await owner.post(f"/users/{manager_id}", {**form, "role": "branch-manager"})
    assert status == 400 and 'id="user-error"' in text  # a branch manager needs a branch
    status, text, _ = await owner.post(f"/users/{manager_id}", {**form, "role": "staff"})
    assert status == 200
    assert (
        await console.pool.fetchval("SELECT branch_id FROM users WHERE id = $1", manager_id) is None
    )
    assert (
        await console.pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'user.update'")
        == 1
    )


async def _held(
    console: ConsoleServer, key: str, number: str = PIZZA, tenant: str = "gangnam-pizza"
) -> int:
    return int(
        await console.pool.fetchval(
            "INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, trigger, "
            "state, kind, body, send_after, send_day) VALUES ($1, $2, $3, '01055556666', "
            "'missed', 'held', 'sms', '안녕하세요', now(), current_date) RETURNING id",
            key,
            tenant,
            number,
        )
    )


async def test_held_texts_are_approved_or_discarded_and_audited(console: ConsoleServer) -> None:
    first = await console.pool.fetchval("SELECT id FROM sms_outbox WHERE idempotency_key = 't:1'")
    second = await _held(console, "t:2")
    staff = await console.as_role("staff")
    _, text = await staff.get("/sms")
    assert 'id="sms-form"' not in text and f'name="text_{first}"' not in text
    status, _, _ = await staff.post("/sms", {"action": "approve", f"text_{first}": "on"})
    assert status == 403
    owner = await console.as_role("owner")
    _, text = await owner.get("/sms?state=held")
    assert f'name="text_{first}"' in text and f'name="text_{second}"' in text
    status, text, _ = await owner.post("/sms", {"action": "approve", f"text_{first}": "on"})
    assert status == 200 and "승인한 문자: 1" in text
    status, text, _ = await owner.post("/sms", {"action": "discard", f"text_{second}": "on"})
    assert status == 200 and "폐기한 문자: 1" in text
    states = await console.pool.fetch(
        "SELECT id, state FROM sms_outbox WHERE id = ANY($1::bigint[]) ORDER BY id",
        [first, second],
    )
    assert [r["state"] for r in states] == ["queued", "discarded"]
    status, text, _ = await owner.post("/sms", {"action": "approve"})
    assert status == 400 and 'id="sms-error"' in text
    audited = await console.pool.fetch(
        "SELECT action, detail FROM audit_log WHERE resource = 'sms' ORDER BY id"
    )
    assert [(r["action"], r["detail"]["done"]) for r in audited] == [
        ("sms.approve", [first]),
        ("sms.discard", [second]),
    ]


async def test_another_tenants_text_is_not_found(console: ConsoleServer) -> None:
    pocha = await _held(console, "p:1", number="05059876543", tenant="hongdae-pocha")
    owner = await console.as_role("owner")
    await owner.get("/sms")
    status, _, _ = await owner.post("/sms", {"action": "discard", f"text_{pocha}": "on"})
    assert status == 404
    assert (
        await console.pool.fetchval("SELECT state FROM sms_outbox WHERE id = $1", pocha) == "held"
    )
