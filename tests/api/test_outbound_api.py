"""``/api/v1/calls`` (click-to-call, call-back from a record), ``/members`` and
``/minutes``: tenant isolation, roles, the planner's refusals, 503 with no engine, audit.
Placing a call through a running engine is in tests/acceptance/test_outbound_engine.py."""

from __future__ import annotations

from .conftest import PIZZA_MEMBER, PIZZA_MISSED, ApiServer, store_missed_call


async def _audits(api: ApiServer, action: str) -> list[dict[str, object]]:
    rows = await api.pool.fetch(
        "SELECT tenant_id, resource_id, new_value, old_value FROM audit_log WHERE action = $1",
        action,
    )
    return [dict(r) for r in rows]


async def test_click_to_call_without_an_engine_is_503(api: ApiServer) -> None:
    await store_missed_call(api.pool)
    owner = await api.as_role("owner")
    status, body, _ = await owner.call(
        "POST", "calls", json={"member": "010-7777-8888", "to": "010-2000-3000"}
    )
    assert status == 503 and body["error"]["code"] == "engine_not_attached"
    status, body, _ = await owner.call(
        "POST", f"calls/{PIZZA_MISSED}/callback", json={"member": "김민수"}
    )
    assert status == 503 and body["error"]["code"] == "engine_not_attached"
    assert await _audits(api, "call.dial") == []


async def test_members_and_records_of_another_tenant_are_not_found(api: ApiServer) -> None:
    await store_missed_call(api.pool)
    other = await api.as_role("other")
    status, body, _ = await other.call(
        "POST", "calls", json={"member": "010-7777-8888", "to": "010-2000-3000"}
    )
    assert status == 404 and "7777" not in str(body).replace("**", "")
    status, _, _ = await other.call(
        "POST", f"calls/{PIZZA_MISSED}/callback", json={"member": "010-7777-8888"}
    )
    assert status == 404
    status, page, _ = await other.get("members")
    assert status == 200 and page["items"] == []
    status, _, _ = await other.call("DELETE", "members/010-7777-8888")
    assert status == 404
    assert await api.pool.fetchval("SELECT count(*) FROM members") == 1


async def test_staff_reads_masked_members_and_may_not_dial(api: ApiServer) -> None:
    staff = await api.as_role("staff")
    status, page, _ = await staff.get("members")
    assert status == 200 and page["items"][0]["mobile"] == "010-77**-88**"
    status, body, _ = await staff.call("POST", "calls", json={"member": "x", "to": "y"})
    assert status == 403 and body["error"]["code"] == "forbidden"
    owner = await api.as_role("owner")
    status, page, _ = await owner.get("members")
    assert page["items"] == [
        {
            "tenant_id": "gangnam-pizza",
            "name": "김민수",
            "mobile": "010-7777-8888",
            "role": "member",
            "caller_ids": None,
        }
    ]


async def test_add_and_remove_a_member_audited(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    status, body, _ = await owner.call(
        "POST", "members", json={"name": "박지성", "mobile": "010-2222-3333", "role": "manager"}
    )
    assert status == 201 and body["mobile"] == "010-2222-3333"
    status, body, _ = await owner.call(
        "POST", "members", json={"name": "x", "mobile": "02-333-4444"}
    )
    assert status == 400, body
    status, body, _ = await owner.call(
        "POST", "members", json={"name": "y", "mobile": "010-2222-3333"}
    )
    assert status == 409, body
    status, body, _ = await owner.call("DELETE", "members/박지성")
    assert status == 200 and body["removed"]["name"] == "박지성"
    added, removed = await _audits(api, "member.add"), await _audits(api, "member.remove")
    assert [(a["tenant_id"], a["resource_id"]) for a in added] == [
        ("gangnam-pizza", "010-22**-33**")
    ]
    assert len(removed) == 1


async def test_minutes_allocate_charge_and_show(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    status, body, _ = await owner.call(
        "POST", "minutes/allocate", json={"member": "김민수", "minutes": 5, "reason": "bonus"}
    )
    assert status == 201 and body == {"pool_seconds": 5100, "member_seconds": 900}
    status, body, _ = await owner.call(
        "POST", "minutes/allocate", json={"member": "김민수", "minutes": 1000}
    )
    assert status == 409, body  # the pool has less
    status, body, _ = await owner.call(
        "POST", "minutes/charge", json={"minutes": 10, "reason": "x"}
    )
    assert status == 403  # charging the pool is the platform's
    admin = await api.as_role("admin")
    status, body, _ = await admin.call(
        "POST",
        "minutes/charge",
        json={"tenant_id": "gangnam-pizza", "minutes": 10, "reason": "12월 충전", "coupon": True},
    )
    assert status == 201 and body["pool_seconds"] == 5700 and body["entry"]["kind"] == "coupon"
    status, body, _ = await owner.get("minutes")
    assert status == 200 and body["pool_seconds"] == 5700
    (kim,) = body["members"]
    assert (kim["name"], kim["balance_seconds"], kim["calls"]) == ("김민수", 900, 0)
    status, body, _ = await owner.get(f"minutes/{PIZZA_MEMBER}")
    assert status == 200 and body["balance_seconds"] == 900
    assert [e["kind"] for e in body["ledger"]] == ["allocate", "allocate"]
    assert len(await _audits(api, "minutes.allocate")) == 1
    assert len(await _audits(api, "minutes.charge")) == 1
    other = await api.as_role("other")
    status, _, _ = await other.get("minutes?tenant=gangnam-pizza")
    assert status == 404
