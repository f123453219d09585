"""``/api/v1/calls``: every filter, keyset pages, masked and revealed numbers with their
audit rows, and one call with what happened in it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ivr_engine.domain.records import Disposition as D

from .conftest import PIZZA, ApiServer
from .records import TARGET, at, record, store

SECOND = "050712345678"  # gangnam-pizza, no branch
POCHA = "05059876543"  # hongdae-pocha
A, B, C = "01020003000", "01055556666", "01077778888"


async def _calls(client: Any, query: str = "") -> list[dict[str, Any]]:
    status, body, _ = await client.get(f"calls?limit=500&{query}")
    assert status == 200, body
    assert body["next_cursor"] is None
    return list(body["items"])


async def _ids(client: Any, query: str = "") -> list[str]:
    return [c["call_id"] for c in await _calls(client, query)]


async def _sample(api: ApiServer) -> None:
    await store(
        api.pool,
        record("c1", PIZZA, A, at(11, 5)),
        record("c2", PIZZA, B, at(11, 30), D.BUSY),
        record("c3", SECOND, A, at(12, 0), D.NO_ANSWER),
        record("c4", PIZZA, C, at(20, 0), D.CLOSED),
        record("c5", SECOND, "", at(12, 10), D.BLOCKED),
        record("c6", PIZZA, A, at(11, 0, day=1)),
        record("p1", POCHA, A, at(11, 0), tenant="hongdae-pocha"),
    )


async def test_each_filter_narrows_the_list(api: ApiServer) -> None:
    await _sample(api)
    owner = await api.as_role("owner")
    assert await _ids(owner) == ["c6", "c4", "c5", "c3", "c2", "c1"]  # newest first, own only
    assert await _ids(owner, f"number={PIZZA}") == ["c6", "c4", "c2", "c1"]
    assert await _ids(owner, "number=0507-1234-5678") == ["c5", "c3"]
    assert await _ids(owner, "caller=010-2000-3000") == ["c6", "c3", "c1"]
    assert await _ids(owner, "caller=anonymous") == ["c5"]
    assert await _ids(owner, "disposition=busy") == ["c2"]
    assert await _ids(owner, "disposition=BUSY,no_answer") == ["c3", "c2"]
    assert await _ids(owner, "disposition=CLOSED&disposition=BLOCKED") == ["c4", "c5"]
    # a time without offset is Seoul time; a date alone is that whole day
    assert await _ids(owner, "from=2026-11-20T11:30&to=2026-11-20T12:10") == ["c3", "c2"]
    assert await _ids(owner, "from=2026-11-21&to=2026-11-21") == ["c6"]
    since = quote("2026-11-20T03:00:00+00:00")  # 12:00 in Seoul
    assert await _ids(owner, f"from={since}&number={PIZZA}") == ["c6", "c4"]
    assert await _ids(owner, "tenant=gangnam-pizza&caller=01020003000") == ["c6", "c3", "c1"]
    assert await _ids(owner, "tenant=hongdae-pocha") == []  # not the owner's tenant
    admin = await api.as_role("admin")
    assert await _ids(admin, "tenant=hongdae-pocha") == ["p1"]
    assert len(await _ids(admin)) == 7
    for bad, field in (
        ("disposition=LOST", "disposition"),
        ("from=yesterday", "from"),
        ("caller=abc", "caller"),
        ("format=pdf", "format"),
        ("from=2026-11-21&to=2026-11-20T00:00", "to"),
        ("cursor=%%%", "cursor"),
    ):
        status, body, _ = await owner.get(f"calls?{bad}")
        assert status == 400 and body["error"]["field"] == field, (bad, body)


async def test_times_are_in_the_tenant_zone_and_numbers_masked(api: ApiServer) -> None:
    await _sample(api)
    owner = await api.as_role("owner")
    c1 = next(c for c in await _calls(owner) if c["call_id"] == "c1")
    assert c1["start_time"] == "2026-11-20T11:05:00+09:00"
    assert c1["end_time"] == "2026-11-20T11:05:35+09:00"
    assert c1["caller"] == "010-20**-30**" and "2000" not in c1["caller_raw"]
    assert c1["answered_target"] == "010-11**-22**"
    assert c1["number"] == PIZZA and c1["talk_seconds"] == 30
    assert c1["disposition"] == "ANSWERED" and c1["ring_seconds"] == 4.0
    c5 = next(c for c in await _calls(owner) if c["call_id"] == "c5")
    assert c5["caller"] == "anonymous"


async def test_pages_are_stable_across_the_cursor(api: ApiServer) -> None:
    # 23 calls, several starting in the same second, so the call id breaks ties
    records = [record(f"k{i:02d}", PIZZA, A, at(10, i // 3)) for i in range(23)]
    await store(api.pool, *records)
    owner = await api.as_role("owner")
    whole = await _ids(owner)
    assert len(whole) == 23 and len(set(whole)) == 23
    seen: list[str] = []
    status, page, _ = await owner.get("calls?limit=5")
    first = True
    while True:
        assert status == 200 and len(page["items"]) <= 5
        seen += [c["call_id"] for c in page["items"]]
        if first:  # a new call arriving meanwhile does not shift the pages that follow
            await store(api.pool, record("new", PIZZA, A, at(23, 0)))
            first = False
        if not page["next_cursor"]:
            break
        status, page, _ = await owner.get(f"calls?limit=5&cursor={page['next_cursor']}")
    assert seen == whole
    assert (await _ids(owner))[0] == "new"


async def _reveals(api: ApiServer) -> list[Any]:
    return list(
        await api.pool.fetch(
            "SELECT actor, tenant_id, resource_id, detail FROM audit_log "
            "WHERE action = 'calls.reveal' ORDER BY id"
        )
    )


async def test_a_reveal_shows_full_numbers_and_is_audited(api: ApiServer) -> None:
    await _sample(api)
    owner = await api.as_role("owner")
    status, body, _ = await owner.get(f"calls?number={PIZZA}&reveal=true&limit=2")
    assert status == 200
    assert [c["caller"] for c in body["items"]] == ["010-2000-3000", "010-7777-8888"]
    rows = await _reveals(api)
    assert len(rows) == 1
    assert rows[0]["actor"] == "owner@pizza.kr" and rows[0]["tenant_id"] == "gangnam-pizza"
    assert rows[0]["detail"]["call_ids"] == ["c6", "c4"]
    assert rows[0]["detail"]["filters"] == {"number": PIZZA}
    # without reveal nothing is written
    await owner.get("calls")
    assert len(await _reveals(api)) == 1
    # a role without calls.reveal is refused, and nothing is revealed or written
    staff = await api.as_role("staff")
    status, body, _ = await staff.get("calls?reveal=true")
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body, _ = await (await api.with_token("owner", ("read",))).get("calls?reveal=true")
    assert status == 403
    machine = await api.with_token("owner", ("read", "reveal"))
    status, body, _ = await machine.get("calls/c1?reveal=true")
    assert status == 200 and body["caller"] == "010-2000-3000"
    assert body["answered_target"] == "010-1111-2222"
    rows = await _reveals(api)
    assert len(rows) == 2 and rows[1]["resource_id"] == "c1"
    assert rows[1]["actor"].startswith("owner@pizza.kr (token")


async def test_one_call_tells_what_happened(api: ApiServer) -> None:
    await _sample(api)
    owner = await api.as_role("owner")
    status, body, _ = await owner.get("calls/c2")
    assert status == 200, body
    assert body["disposition"] == "BUSY" and body["timezone"] == "Asia/Seoul"
    assert body["attempts"] == [
        {"target": "010-11**-22**", "result": "busy", "cause": 17, "ring_seconds": 4.0}
    ]
    kinds = [s["kind"] for s in body["trace"]]
    assert kinds == ["start", "plan", "prompt", "ring", "attempt", "end"]
    texts = [s["text"] for s in body["trace"]]
    assert texts[0] == "010-55**-66** called 0505-123-4567"
    assert texts[1] == "plan: open; open 11:00-15:00"
    assert texts[4] == "010-11**-22**: busy (cause 17: User busy), rang 4.0 s"
    assert "BUSY" in texts[5] and TARGET not in str(body)
    assert body["trace"][0]["at"] == "2026-11-20T11:30:00+09:00"
    assert body["trace"][-1]["offset_seconds"] == 5.0
    status, body, _ = await owner.get("calls/p1")  # hongdae-pocha's
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body, _ = await owner.get("calls/nosuch")
    assert status == 404


async def test_each_role_sees_only_its_reach(api: ApiServer) -> None:
    await _sample(api)
    await store(
        api.pool,
        record("h1", "05053001000", A, at(10, 0), tenant="haneul-shop"),
        record("h2", "05053001000", B, at(10, 5), tenant="haneul-shop"),
    )
    manager = await api.as_role("manager")  # branch gangnam: PIZZA only
    assert await _ids(manager) == ["c6", "c4", "c2", "c1"]
    assert await _ids(manager, f"number={SECOND}") == []
    status, _, _ = await manager.get("calls/c3")
    assert status == 404
    from ivr_engine.commands.users import add_user

    from .conftest import PASSWORD

    await add_user(
        api.pool, "one@pizza.kr", "staff", PASSWORD, tenant="gangnam-pizza", number=SECOND
    )
    await api.pool.execute(
        "INSERT INTO agents (id, tenant_id, endpoint) VALUES ('haneul-kim', 'haneul-shop', "
        "'PJSIP/haneul-kim') ON CONFLICT DO NOTHING"
    )
    await add_user(
        api.pool, "kim@haneul.kr", "agent", PASSWORD, tenant="haneul-shop", agent="haneul-kim"
    )
    await api.pool.execute(
        "INSERT INTO queue_offers (call_id, tenant_id, queue_id, agent_id, offered_at, result) "
        "VALUES ('h2', 'haneul-shop', 'support', 'haneul-kim', $1, 'answered'), "
        "('h1', 'haneul-shop', 'support', 'haneul-lee', $1, 'answered')",
        at(10, 6),
    )
    one = api.anonymous()
    assert (await one.login("one@pizza.kr")).status == 200
    assert await _ids(one) == ["c5", "c3"]
    agent = api.anonymous()
    assert (await agent.login("kim@haneul.kr")).status == 200
    assert await _ids(agent) == ["h2"]
    status, body, _ = await agent.get("calls/h2")
    assert status == 200 and [o["agent_id"] for o in body["offers"]] == ["haneul-kim"]
    assert "offered to agent haneul-kim: answered" in [s["text"] for s in body["trace"]]
    status, _, _ = await agent.get("calls/h1")
    assert status == 404
    status, body, _ = await agent.get("calls?format=csv")
    assert status == 403
    other = await api.as_role("other")
    assert await _ids(other) == ["p1"]
    for call in ("c1", "c3", "h1"):
        status, body, _ = await other.get(f"calls/{call}")
        assert status == 404 and call in body["error"]["message"]
