"""``/api/v1/numbers``: reach per role, ETag / If-Match, dry runs, the loader's checks and
rules, and the audit row of every change."""

from __future__ import annotations

from typing import Any

from .conftest import PIZZA, ApiServer

PAUSED = "050712345678"  # gangnam-pizza's second number (no branch)


async def _read(client: Any, number: str = PIZZA) -> tuple[dict[str, Any], str]:
    status, body, resp = await client.get(f"numbers/{number}")
    assert status == 200, body
    return body, resp.headers["ETag"]


async def test_each_role_lists_what_it_reaches(api: ApiServer) -> None:
    async def numbers(role: str) -> set[str]:
        status, page, _ = await (await api.as_role(role)).get("numbers")
        assert status == 200
        return {i["number"] for i in page["items"]}

    owner, manager, other, admin = (
        await numbers("owner"),
        await numbers("manager"),
        await numbers("other"),
        await numbers("admin"),
    )
    assert PIZZA in owner and PAUSED in owner
    assert manager == {PIZZA}  # the branch's number only
    assert not owner & other  # no number of the other tenant
    assert owner | other <= admin


async def test_pages_follow_the_cursor_without_gaps(api: ApiServer) -> None:
    admin = await api.as_role("admin")
    status, whole, _ = await admin.get("numbers?limit=500")
    seen: list[str] = []
    path = "numbers?limit=2"
    while True:
        status, page, _ = await admin.get(path)
        assert status == 200 and len(page["items"]) <= 2
        seen += [i["number"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        path = f"numbers?limit=2&cursor={page['next_cursor']}"
    assert seen == [i["number"] for i in whole["items"]]
    status, body, _ = await admin.get("numbers?limit=0")
    assert status == 400 and body["error"]["field"] == "limit"


async def test_a_write_needs_the_version_read(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    _number, tag = await _read(owner)
    status, body, _ = await owner.call("PATCH", f"numbers/{PIZZA}", json={"config": {"label": "A"}})
    assert status == 428 and body["error"]["code"] == "precondition_required"
    status, body, resp = await owner.call(
        "PATCH", f"numbers/{PIZZA}", json={"config": {"label": "A"}}, headers={"If-Match": tag}
    )
    assert status == 200, body
    new_tag = resp.headers["ETag"]
    assert new_tag != tag
    # a second admin still holding the old version is refused with the current one
    status, body, _ = await owner.call(
        "PATCH", f"numbers/{PIZZA}", json={"config": {"label": "B"}}, headers={"If-Match": tag}
    )
    assert status == 409 and body["error"]["code"] == "version_mismatch"
    assert f'"{body["error"]["current_version"]}"' == new_tag
    after, _ = await _read(owner)
    assert after["label"] == "A"


async def test_every_change_is_audited_with_old_and_new(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    _, tag = await _read(owner)
    status, _, _ = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}",
        json={"config": {"label": "새 라벨"}},
        headers={"If-Match": tag},
    )
    assert status == 200
    status, log, _ = await owner.get(f"audit?resource=number&resource_id={PIZZA}")
    assert status == 200
    row = log["items"][0]
    assert row["action"] == "number.update" and row["actor"] == "owner@pizza.kr"
    assert row["via"] == "console" and row["address"] == "127.0.0.1"
    assert row["old_value"]["label"] != "새 라벨"
    assert row["new_value"]["config"]["label"] == "새 라벨"
    status, _body, _ = await owner.call("DELETE", "numbers/x")  # no such method: not audited
    assert status in (404, 405)


async def test_dry_run_reports_and_keeps_nothing(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    before, tag = await _read(owner)
    schedule = {"open": {"mon-sun": ["09:00-18:00"]}}
    status, body, resp = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}?dry_run=true",
        json={"config": {"schedule": schedule}},
        headers={"If-Match": tag},
    )
    assert status == 200, body
    assert body["dry_run"] is True
    assert body["numbers_updated"] == ["0505-123-4567"]
    assert "ETag" not in resp.headers
    opens = [p for p in body["timeline"] if p["state"] == "open"]
    assert opens and all(p["start"][11:16] == "09:00" for p in opens)
    after, tag_after = await _read(owner)
    assert tag_after == tag and after["config"] == before["config"]
    assert await api.pool.fetchval("SELECT count(*) FROM audit_log WHERE resource = 'number'") == 0


async def test_an_invalid_change_is_refused_whole_with_the_checks_message(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    before, tag = await _read(owner)
    status, body, _ = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}",
        json={"config": {"label": "x", "prompts": {"whisper": {"text": "가" * 2000}}}},
        headers={"If-Match": tag},
    )
    assert status == 400
    assert body["error"]["code"] == "invalid_config", body
    assert "refused" in body["error"]["message"] and "whisper" in body["error"]["message"]
    after, tag_after = await _read(owner)
    assert tag_after == tag and after["label"] == before["label"]
    status, body, _ = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}",
        json={"config": {"schedule": {"open": "always?"}}},
        headers={"If-Match": tag},
    )
    assert status == 400 and "schedule" in (body["error"]["field"] or body["error"]["message"])


async def test_forward_targets_are_locked_for_24_hours(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    _, tag = await _read(owner)
    first = [{"number": "010-1212-3434", "ring_seconds": 20}]
    status, body, resp = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}",
        json={"config": {"targets": first}},
        headers={"If-Match": tag},
    )
    assert status == 200, body
    assert body["target_changes"][0]["kind"] == "change"
    second = [{"number": "010-5656-7878", "ring_seconds": 20}]
    status, body, _ = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}",
        json={"config": {"targets": second}},
        headers={"If-Match": resp.headers["ETag"]},
    )
    assert status == 409 and body["error"]["code"] == "target_change_locked"
    manager = await api.as_role("manager")
    _, tag = await _read(manager)
    status, body, _ = await manager.call(
        "PATCH",
        f"numbers/{PIZZA}?force_targets=true",
        json={"config": {"targets": second}},
        headers={"If-Match": tag},
    )
    assert status == 403  # only an owner may force
    status, body, _ = await owner.call(
        "PATCH",
        f"numbers/{PIZZA}?force_targets=true",
        json={"config": {"targets": second}},
        headers={"If-Match": tag},
    )
    assert status == 200 and body["target_changes"][0]["forced"] is True
    status, history, _ = await owner.get(f"numbers/{PIZZA}/history")
    assert [c["forced"] for c in history["target_changes"][:2]] == [True, False]


async def test_roles_inside_the_tenant_get_403(api: ApiServer) -> None:
    staff = await api.as_role("staff")
    _, tag = await _read(staff)
    status, body, _ = await staff.call(
        "PATCH", f"numbers/{PIZZA}", json={"config": {"label": "x"}}, headers={"If-Match": tag}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    manager = await api.as_role("manager")
    status, _, _ = await manager.get(f"numbers/{PAUSED}")
    assert status == 404  # outside the branch: as if it did not exist
    status, body, _ = await manager.call(
        "POST", "numbers", json={"config": {"number": "0505-777-8888"}}
    )
    assert status == 403


async def test_create_a_number_and_see_what_callers_hear(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    config = {
        "number": "0505-777-8888",
        "label": "신규 매장",
        "targets": [{"number": "010-2323-4545", "ring_seconds": 25}],
        "schedule": {"open": {"mon-fri": ["10:00-19:00"]}},
    }
    status, body, _resp = await owner.call("POST", "numbers", json={"config": config})
    assert status == 201, body
    assert body["numbers_created"] == ["0505-777-8888"]
    status, _again, _ = await owner.call("POST", "numbers", json={"config": config})
    assert status == 409
    status, plan, _ = await owner.get("numbers/0505-777-8888/plan?at=2026-12-07T11:00")
    assert status == 200 and plan["state"] == "open" and plan["outcome"] == "forward"
    status, plan, _ = await owner.get("numbers/0505-777-8888/plan?at=2026-12-07T21:00")
    assert plan["state"] == "closed"
    status, week, _ = await owner.get("numbers/0505-777-8888/timeline?from=2026-12-07")
    assert status == 200 and week["periods"][0]["start"].startswith("2026-12-07T00:00:00+09:00")
    status, body, _ = await owner.get("numbers/0505-777-8888/plan?at=yesterday")
    assert status == 400 and body["error"]["field"] == "at"
