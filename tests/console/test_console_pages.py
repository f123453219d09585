"""The console's other pages, per role: call records (masked callers, the call's story,
audited reveal, export links with the filters), statistics, agents board with its live
stream, users, SMS, menus, and the pages a role may not open."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

import aiohttp

from ivr_engine.console import queries
from ivr_engine.domain.access import Reach
from ivr_engine.store import agents
from tests.console.conftest import NOW, ConsoleServer


async def test_records_mask_callers_and_stay_inside_the_tenant(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    status, text = await b.get("/records?from=2026-11-20&to=2026-11-20")
    assert status == 200
    assert 'data-call="c-1"' in text and 'data-call="c-2"' in text
    assert 'data-call="p-1"' not in text  # another tenant's call
    assert "010-20**-30**" in text and "01020003000" not in text and "010-2000-3000" not in text
    status, _ = await b.get("/records/p-1")
    assert status == 404
    status, text = await b.get("/records?disposition=NO_ANSWER&from=2026-11-20&to=2026-11-20")
    assert 'data-call="c-2"' in text and 'data-call="c-1"' not in text


async def test_export_links_carry_the_page_filters(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    _, text = await b.get("/records?from=2026-11-19&to=2026-11-20&number=0505-123-4567")
    href = text.split('id="export-csv"')[0].rsplit('href="', 1)[1].split('"')[0]
    url = urlsplit(href.replace("&amp;", "&"))
    assert url.path == "/api/v1/calls"
    query = parse_qs(url.query)
    assert query["format"] == ["csv"] and query["number"] == ["05051234567"]
    assert query["from"] == ["2026-11-19T00:00:00+09:00"]
    assert query["to"] == ["2026-11-21T00:00:00+09:00"]
    assert 'id="export-xlsx"' in text


async def test_a_call_story_and_an_audited_reveal(console: ConsoleServer) -> None:
    manager = await console.as_role("manager")
    status, text = await manager.get("/records/c-2")
    assert status == 200 and "010-20**-30**" in text
    assert "no_answer after 3.0s, cause 19" in text and "NO_ANSWER" in text
    status, text, _ = await manager.post("/records/c-2/reveal", {}, headers={"HX-Request": "1"})
    assert status == 200 and text == '<span class="revealed">010-2000-3000</span>'
    row = await console.pool.fetchrow(
        "SELECT actor, action, resource, resource_id FROM audit_log WHERE action = 'number.reveal'"
    )
    assert dict(row) == {
        "actor": "gangnam@pizza.kr",
        "action": "number.reveal",
        "resource": "call",
        "resource_id": "c-2",
    }
    staff = await console.as_role("staff")
    _, text = await staff.get("/records/c-2")
    assert 'id="reveal"' not in text
    status, _, _ = await staff.post("/records/c-2/reveal", {})
    assert status == 403


async def test_dashboard_and_statistics_count_the_tenant_calls(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    _, text = await b.get("/")
    assert '<span class="v" id="calls-today">2</span>' in text
    assert '<span class="v" id="answer-rate">50%</span>' in text
    assert '<span class="v" id="missed">1</span>' in text
    assert "<svg" in text and "seg-answered" in text
    status, text = await b.get("/stats?days=7")
    assert status == 200 and text.count("<svg") >= 3
    assert "<td>2026-11-20</td><td>2</td><td>1</td><td>1</td><td>50%</td><td>1</td><td>1</td>" in (
        text.replace("\n", "")
    )


async def test_pages_a_role_may_not_open(console: ConsoleServer) -> None:
    staff = await console.as_role("staff")
    for path in ("/audit", "/users"):
        status, text = await staff.get(path)
        assert status == 403 and "권한" in text
    _, text = await staff.get("/")
    assert 'href="/audit"' not in text and 'href="/numbers"' in text


async def test_an_owner_adds_a_user_with_a_role_they_may_grant(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    await b.get("/users")
    status, text, _ = await b.post(
        "/users", {"email": "new@pizza.kr", "role": "staff", "password": "a fresh password 1"}
    )
    assert status == 200 and 'id="user-added"' in text and "new@pizza.kr" in text
    tenant = await console.pool.fetchval("SELECT tenant_id FROM users WHERE email = 'new@pizza.kr'")
    assert tenant == "gangnam-pizza"
    assert (
        await console.pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'user.create' "
            "AND actor = 'owner@pizza.kr'"
        )
        == 1
    )
    status, _, _ = await b.post(
        "/users",
        {"email": "x@pizza.kr", "role": "platform-admin", "password": "a fresh password 1"},
    )
    assert status == 403
    status, text, _ = await b.post(
        "/users", {"email": "y@pizza.kr", "role": "staff", "password": "short"}
    )
    assert status == 400 and 'id="user-error"' in text


async def test_menus_queues_and_sms_pages(console: ConsoleServer) -> None:
    admin = await console.as_role("admin")
    status, text = await admin.get("/menus")
    assert status == 200 and "결제 문의" in text and "support" in text
    owner = await console.as_role("owner")
    _, text = await owner.get("/menus")
    assert "결제 문의" not in text  # another tenant's menu
    status, text = await owner.get("/sms")
    assert status == 200 and 'id="sms"' in text


async def _next_event(resp: aiohttp.ClientResponse) -> dict[str, object]:
    """The data of the next ``agent`` event of a Server-Sent Events stream."""
    event = ""
    while True:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "agent":
            return dict(json.loads(line[6:]))


async def test_the_agents_board_streams_state_changes(console: ConsoleServer) -> None:
    for agent, name in (("haneul-kim", "김상담"), ("haneul-lee", "이상담")):
        await agents.add_agent(
            console.pool, agent, "haneul-shop", f"PJSIP/{agent}", now=NOW, name=name
        )
    admin = await console.as_role("admin")
    status, text = await admin.get("/agents")
    assert status == 200 and 'data-agent="haneul-kim"' in text and "김상담" in text
    async with admin.session.get(console.base + "/agents/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first = await asyncio.wait_for(_next_event(resp), 10)
        assert first["id"] in ("haneul-kim", "pizza-kim") and first["state"] == "offline"
        await agents.login(console.pool, "haneul-lee", now=NOW)
        while True:
            event = await asyncio.wait_for(_next_event(resp), 10)
            if event["id"] == "haneul-lee" and event["state"] != "offline":
                break
        assert event["state"] == "ready" and event["since"] == "2026-11-20 12:30 +09:00"
        assert event["tenant"] == "haneul-shop" and event["reachable"] is True


async def test_a_stream_reads_each_agent_through_the_viewer_reach(console: ConsoleServer) -> None:
    await agents.add_agent(console.pool, "haneul-kim", "haneul-shop", "PJSIP/k", now=NOW)
    owner = Reach(("gangnam-pizza",), None, None, None)
    haneul = Reach(("haneul-shop",), None, None, None)
    one_number = Reach(("haneul-shop",), None, "05053001000", None)
    async with console.pool.acquire() as conn:
        assert await queries.get_agent(conn, owner, "haneul-kim") is None
        assert [a["id"] for a in await queries.list_agents(conn, owner)] == ["pizza-kim"]
        assert await queries.get_agent(conn, one_number, "haneul-kim") is None
        found = await queries.get_agent(conn, haneul, "haneul-kim")
    assert found is not None and found["state"] == "offline"
    b = await console.as_role("owner")
    _, text = await b.get("/agents")
    assert "haneul-kim" not in text
