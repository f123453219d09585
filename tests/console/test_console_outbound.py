"""Calling out from the console: click-to-call and "call back" on a missed call's page
through the engine's own dialer (the simulator rings the member), the planner's refusals
shown in place, the audit row; the records list's outbound columns; the forms a role
without ``outbound.dial`` never sees."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ivr_engine.domain.members import Member
from ivr_engine.domain.outbound_record import OutboundOutcome
from ivr_engine.sim import Behaviour
from tests.api.conftest import ACCOUNTS, PIZZA, PIZZA_MEMBER, PIZZA_MISSED, store_missed_call
from tests.console.conftest import NOW, Browser, ConsoleServer
from tests.console.engine import EngineConsole, engine_console

MISSED_CALLER = "01073912468"  # store_missed_call's caller


@pytest.fixture
async def served(db_url: str, tmp_path: Path) -> AsyncIterator[EngineConsole]:
    async with engine_console(db_url, tmp_path) as running:
        yield running


async def _signed_in(served: EngineConsole, role: str) -> Browser:
    b = Browser(served.base)
    status, text = await b.sign_in(ACCOUNTS[role]["email"])
    assert status == 200, text
    return b


def _call_id(text: str) -> str:
    found = re.search(r'id="call-result" data-call-id="([^"]+)"', text)
    assert found, text
    return found.group(1)


async def test_call_back_a_missed_call_rings_the_member_then_the_caller(
    served: EngineConsole,
) -> None:
    served.sim.set_behaviour(PIZZA_MEMBER, Behaviour.answer_after(0.5, talk=None))
    served.sim.set_behaviour(MISSED_CALLER, Behaviour.answer_after(0.5, talk=2.0))
    b = await _signed_in(served, "owner")
    try:
        status, text = await b.get(f"/records/{PIZZA_MISSED}")
        assert status == 200 and 'id="call-back-form"' in text
        assert "김민수 (010-77**-88**)" in text and "0505-123-4567" in text
        status, text, _ = await b.post(
            f"/records/{PIZZA_MISSED}/callback", {"member": PIZZA_MEMBER, "caller_id": PIZZA}
        )
        assert status == 200
        call_id = _call_id(text)
        assert "전화 거는 중" in text
        done = await served.finished(call_id)
        assert done.facts.outcome is OutboundOutcome.COMPLETED and done.charged_seconds == 60
        (leg,) = [
            c
            for c in served.sim.world.all_channels.values()
            if c.endpoint_resource == MISSED_CALLER
        ]
        assert leg.caller_number == PIZZA  # the company's number, never the member's mobile
        pool = served.engine.db.pool
        row = await pool.fetchrow(
            "SELECT actor, tenant_id, detail FROM audit_log WHERE action = 'call.dial'"
        )
        assert row["actor"] == "owner@pizza.kr" and row["tenant_id"] == "gangnam-pizza"
        assert row["detail"] == {"source": f"record {PIZZA_MISSED}"}
        await served.engine.cdr.flush()
        status, text = await b.get("/records")
        assert f'data-call="{call_id}" data-direction="outbound"' in text
        row_html = text.split(f'data-call="{call_id}"')[1].split("</tr>")[0]
        assert "발신" in row_html and "010-73**-24**" in row_html and "김민수" in row_html
        assert "0505-123-4567" in row_html and "1분" in row_html
    finally:
        await b.session.close()


async def test_click_to_call_shows_the_planner_refusal_in_place(served: EngineConsole) -> None:
    b = await _signed_in(served, "manager")
    try:
        status, text = await b.get("/calls/new")
        assert status == 200 and 'id="call-form"' in text and 'id="member-select"' in text
        status, text, _ = await b.post(
            "/calls/new",
            {"member": PIZZA_MEMBER, "to": "060-123-4567"},
            headers={"HX-Request": "1"},
        )
        assert status == 200 and text.startswith('<p class="error" id="call-result"')
        assert 'data-refusal="destination-blocked"' in text and "걸 수 없는 번호" in text
        status, text, _ = await b.post(
            f"/records/{PIZZA_MISSED}/callback",
            {"member": PIZZA_MEMBER, "caller_id": "0505-123-9999"},
        )
        assert status == 200 and 'data-refusal="caller-id-not-allowed"' in text
        assert 'id="call-back-form"' in text  # the whole page again, without JavaScript
        assert served.dialer.calls == {} and served.dialer.finished == {}
        pool = served.engine.db.pool
        assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'call.dial'") == 0
    finally:
        await b.session.close()


async def test_the_users_own_member_entry_is_chosen_for_them(served: EngineConsole) -> None:
    pool = served.engine.db.pool
    await pool.execute("UPDATE users SET display_name = '김민수' WHERE email = 'gangnam@pizza.kr'")
    served.sim.set_behaviour(PIZZA_MEMBER, Behaviour.busy())
    b = await _signed_in(served, "manager")
    try:
        _, text = await b.get("/calls/new")
        assert 'id="own-member"' in text and 'id="member-select"' not in text
        fields = dict(re.findall(r'<input type="hidden" name="(member)" value="([^"]+)"', text))
        assert fields == {"member": PIZZA_MEMBER}
        status, text, _ = await b.post("/calls/new", {**fields, "to": "010-2000-3000"})
        assert status == 200
        done = await served.finished(_call_id(text))
        assert done.facts.outcome is OutboundOutcome.MEMBER_BUSY and done.charged_seconds == 0
    finally:
        await b.session.close()


async def test_call_forms_need_outbound_dial(console: ConsoleServer) -> None:
    await store_missed_call(console.pool)
    staff = await console.as_role("staff")
    status, text = await staff.get(f"/records/{PIZZA_MISSED}")
    assert status == 200 and 'id="call-back-form"' not in text
    assert 'id="click-to-call"' not in (await staff.get("/records"))[1]
    status, _ = await staff.get("/calls/new")
    assert status == 403
    status, _, _ = await staff.post(f"/records/{PIZZA_MISSED}/callback", {"member": "김민수"})
    assert status == 403
    owner = await console.as_role("owner")
    _, text = await owner.get("/records/c-1")  # answered: nothing to call back
    assert 'id="call-back-form"' not in text
    status, text, _ = await owner.post(f"/records/{PIZZA_MISSED}/callback", {"member": "김민수"})
    assert 'data-refusal="engine_not_attached"' in text  # no engine serves this console
    other = await console.as_role("other")
    status, _, _ = await other.post(f"/records/{PIZZA_MISSED}/callback", {"member": "김민수"})
    assert status == 404


async def test_members_listed_masked_added_and_removed(console: ConsoleServer) -> None:
    staff = await console.as_role("staff")
    status, text = await staff.get("/members")
    assert status == 200 and "010-77**-88**" in text and "01077778888" not in text
    assert 'id="member-form"' not in text
    status, _, _ = await staff.post("/members", {"name": "x", "mobile": "010-2222-3333"})
    assert status == 403
    owner = await console.as_role("owner")
    await owner.get("/members")
    status, text, _ = await owner.post(
        "/members", {"name": "박지성", "mobile": "010-2222-3333", "role": "manager"}
    )
    assert status == 200 and 'id="members-done"' in text and "010-22**-33**" in text
    status, text, _ = await owner.post("/members", {"name": "x", "mobile": "02-333-4444"})
    assert status == 400 and 'id="members-error"' in text and "not a mobile" in text
    status, text, _ = await owner.post("/members", {"name": "y", "mobile": "010-2222-3333"})
    assert status == 400 and 'id="members-error"' in text
    status, text, _ = await owner.post("/members/remove", {"member": "01022223333"})
    assert status == 200 and 'data-member="박지성"' not in text
    rows = await console.pool.fetch(
        "SELECT action, resource_id, tenant_id FROM audit_log WHERE resource = 'member' ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("member.add", "010-22**-33**", "gangnam-pizza"),
        ("member.remove", "010-22**-33**", "gangnam-pizza"),
    ]
    other = await console.as_role("other")
    _, text = await other.get("/members")
    assert "김민수" not in text
    status, _, _ = await other.post("/members/remove", {"member": "01077778888"})
    assert status == 404
    assert await console.pool.fetchval("SELECT count(*) FROM members") == 1


async def test_minutes_pool_balances_allocation_and_ledger(console: ConsoleServer) -> None:
    await console.pool.execute(
        "INSERT INTO call_records (call_id, uniqueid, linkedid, tenant_id, number, caller, "
        "start_time, end_time, billsec, disposition, asterisk_disposition, direction, member, "
        "caller_id_shown, destination, charged_seconds) VALUES ('out-1', 'out-1', 'out-1', "
        "'gangnam-pizza', $1, $2, $3, $3, 75, 'ANSWERED', 'ANSWERED', 'outbound', $2, $1, "
        "'01020003000', 120)",
        PIZZA,
        PIZZA_MEMBER,
        NOW - timedelta(hours=2),
    )
    staff = await console.as_role("staff")
    status, text = await staff.get("/minutes")
    assert status == 200 and '<span class="v" id="pool-balance">90분</span>' in text
    row_html = text.split('data-member="김민수"')[1].split("</tr>")[0]
    assert '<td data-label="잔여" class="balance">10분</td>' in row_html
    assert ">1<" in row_html and "1분 15초" in row_html and "2분" in row_html
    assert 'id="allocate-form"' not in text
    status, _, _ = await staff.post("/minutes/allocate", {"member": PIZZA_MEMBER, "minutes": "5"})
    assert status == 403
    owner = await console.as_role("owner")
    await owner.get("/minutes")
    status, text, _ = await owner.post(
        "/minutes/allocate", {"member": PIZZA_MEMBER, "minutes": "5", "reason": "보너스"}
    )
    assert status == 200 and 'id="minutes-done"' in text
    assert '<span class="v" id="pool-balance">85분</span>' in text
    status, text, _ = await owner.post(
        "/minutes/allocate", {"member": PIZZA_MEMBER, "minutes": "x"}
    )
    assert status == 400 and "정수" in text
    status, text, _ = await owner.post(
        "/minutes/allocate", {"member": PIZZA_MEMBER, "minutes": "100000"}
    )
    assert status == 409 and 'id="minutes-error"' in text
    _, text = await owner.get(f"/minutes?account={PIZZA_MEMBER}")
    kinds = re.findall(r'<tr data-kind="(\w+)">', text)
    assert kinds == ["allocate", "allocate"] and "보너스" in text
    audited = await console.pool.fetch(
        "SELECT resource_id, new_value FROM audit_log WHERE action = 'minutes.allocate'"
    )
    assert len(audited) == 1 and audited[0]["resource_id"] == "010-77**-88**"
    other = await console.as_role("other")
    _, text = await other.get("/minutes?tenant=gangnam-pizza")
    assert "김민수" not in text


async def test_a_member_may_be_listed_only_inside_the_admins_chosen_tenant(
    console: ConsoleServer,
) -> None:
    from ivr_engine.store.members import add_member

    await add_member(console.pool, "hongdae-pocha", Member("이포차", "01044445555"))
    admin = await console.as_role("admin")
    _, text = await admin.get("/members?tenant=hongdae-pocha")
    assert 'data-member="이포차"' in text and 'data-member="김민수"' not in text
    _, text = await admin.get("/members?tenant=gangnam-pizza")
    assert 'data-member="김민수"' in text and 'data-member="이포차"' not in text
