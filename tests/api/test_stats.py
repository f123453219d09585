"""``/api/v1/stats``: per number (answer rate, misses, rings, talk, the ad effect) and per
queue (service level, abandons, waits), checked against values computed by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from ivr_engine.console.queries import counts as console_counts
from ivr_engine.domain.access import Reach
from ivr_engine.domain.records import Disposition as D
from ivr_engine.store.cdr_queries import CdrFilter, stats

from .conftest import PIZZA, ApiServer
from .records import at, record, store

SECOND = "050712345678"
A, B, C, E, F = "01020003000", "01055556666", "01077778888", "01033334444", "01099990000"


async def _numbers(client: Any, query: str) -> list[dict[str, Any]]:
    status, body, _ = await client.get(f"stats/numbers?{query}")
    assert status == 200, body
    return list(body["items"])


async def _seed(api: ApiServer) -> None:
    await store(
        api.pool,
        record("old", PIZZA, B, at(11, day=-10)),  # B called before: not a first-time caller
        record("s1", PIZZA, A, at(11, 5), ring=4, talk=30),
        record("s2", PIZZA, B, at(11, 30), ring=6, talk=50),
        record("s3", PIZZA, A, at(12, 0), D.BUSY, ring=4),
        record("s4", PIZZA, C, at(20, 0), D.CLOSED),
        record("s5", PIZZA, "", at(12, 10), D.BLOCKED),
        record("s6", PIZZA, A, at(11, 0, day=1), ring=2, talk=10),
        record("s7", PIZZA, E, at(11, 20, day=1), D.NO_ANSWER, ring=10),
        # 23:30 UTC on the 20th is 08:30 on the 21st in Seoul
        record("s8", PIZZA, F, datetime(2026, 11, 20, 23, 30, tzinfo=UTC), ring=4, talk=20),
        record("x1", SECOND, A, at(11)),
        # a member calling out showing the number: not a call offered to it
        dataclasses.replace(
            record("o1", PIZZA, "01077778888", at(13, 0), talk=60),
            direction="outbound",
            member="01077778888",
            caller_id_shown=PIZZA,
            destination="01044445555",
            charged_seconds=60,
        ),
    )


async def test_numbers_by_day_match_the_hand_count(api: ApiServer) -> None:
    await _seed(api)
    owner = await api.as_role("owner")
    status, body, _ = await owner.get(f"stats/numbers?from=2026-11-20&to=2026-11-21&number={PIZZA}")
    assert status == 200
    assert body["from"] == "2026-11-20T00:00:00+09:00" and body["to"] == "2026-11-22T00:00:00+09:00"
    day1, day2 = body["items"]
    assert day1 == {
        "number": PIZZA,
        "number_formatted": "0505-123-4567",
        "tenant_id": "gangnam-pizza",
        "period": "2026-11-20",
        "offered": 4,
        "answered": 2,
        "answer_rate": 0.5,
        "missed": 2,
        "closed": 1,
        "blocked": 1,
        "avg_ring_seconds": 4.67,  # (4 + 6 + 4) / 3 calls that rang
        "avg_talk_seconds": 40.0,
        "ad_effect": {"calls": 5, "unique_callers": 3, "first_time_callers": 2},  # A, C
    }
    assert day2["period"] == "2026-11-21"
    assert (day2["offered"], day2["answered"], day2["missed"]) == (3, 2, 1)
    assert day2["answer_rate"] == 0.6667 and day2["avg_ring_seconds"] == 5.33
    assert day2["avg_talk_seconds"] == 15.0
    assert day2["ad_effect"] == {"calls": 3, "unique_callers": 3, "first_time_callers": 2}


async def test_outbound_calls_are_not_counted_as_offered_calls(api: ApiServer) -> None:
    await _seed(api)
    rows = await stats(api.pool, CdrFilter(number=PIZZA, start=at(0), end=at(0, day=1)))
    assert [(r.offered, r.answered) for r in rows] == [(4, 2)]  # the CLI's `cdr stats`
    reach = Reach(("gangnam-pizza",), None, None, None)
    async with api.pool.acquire() as conn:
        day = await console_counts(
            conn, reach, start=at(0), end=at(0, day=1), by="day", zone="Asia/Seoul", number=PIZZA
        )
    assert [(c.offered, c.answered, c.unique_callers) for c in day] == [(4, 2, 3)]


async def test_numbers_by_hour_and_reach(api: ApiServer) -> None:
    await _seed(api)
    owner = await api.as_role("owner")
    items = await _numbers(owner, f"by=hour&from=2026-11-20&to=2026-11-20&number={PIZZA}")
    hours = {i["period"]: (i["ad_effect"], i["answered"]) for i in items}
    assert hours == {
        "2026-11-20T11:00:00+09:00": (
            {"calls": 2, "unique_callers": 2, "first_time_callers": 1},
            2,
        ),
        "2026-11-20T12:00:00+09:00": (
            {"calls": 2, "unique_callers": 1, "first_time_callers": 0},
            0,
        ),
        "2026-11-20T20:00:00+09:00": (
            {"calls": 1, "unique_callers": 1, "first_time_callers": 1},
            0,
        ),
    }
    every = await _numbers(owner, "from=2026-11-20&to=2026-11-21")
    assert {i["number"] for i in every} == {PIZZA, SECOND}
    manager = await api.as_role("manager")  # the gangnam branch: PIZZA only
    assert {i["number"] for i in await _numbers(manager, "from=2026-11-20&to=2026-11-21")} == {
        PIZZA
    }
    other = await api.as_role("other")
    assert await _numbers(other, "from=2026-11-20&to=2026-11-21") == []
    for bad, field in (("by=week", "by"), ("by=hour&from=2026-01-01&to=2026-03-01", "from")):
        status, body, _ = await owner.get(f"stats/numbers?{bad}")
        assert status == 400 and body["error"]["field"] == field


async def _stays(api: ApiServer) -> None:
    rows = [
        ("q1", at(10), 10, "answered", 60),
        ("q2", at(10, 1), 30, "answered", 120),
        ("q3", at(10, 2), 40, "abandoned", None),
        ("q4", at(10, 3), 3, "abandoned", None),  # a short abandon
        ("q5", at(10, 4), 180, "overflow", None),
        ("q6", at(10, day=1), 5, "answered", 30),
    ]
    for call, entered, wait, outcome, talk in rows:
        left = entered + timedelta(seconds=wait)
        await api.pool.execute(
            "INSERT INTO queue_calls (call_id, tenant_id, queue_id, number, caller, entered_at, "
            "seen_at, position, outcome, left_at, answered_at, ended_at) "
            "VALUES ($1, 'haneul-shop', 'support', '05053001000', '01020003000', $2, $3, 1, "
            "$4, $3, $5, $6)",
            call,
            entered,
            left,
            outcome,
            left if talk else None,
            left + timedelta(seconds=talk) if talk else None,
        )
    await api.pool.execute(  # still waiting: not counted
        "INSERT INTO queue_calls (call_id, tenant_id, queue_id, number, entered_at, seen_at, "
        "position) VALUES ('q7', 'haneul-shop', 'support', '05053001000', $1, $1, 1)",
        at(10, 5),
    )


async def test_queues_by_day_with_the_queue_thresholds(api: ApiServer) -> None:
    await _stays(api)
    admin = await api.as_role("admin")
    status, body, _ = await admin.get(
        "stats/queues?tenant=haneul-shop&from=2026-11-20&to=2026-11-21"
    )
    assert status == 200, body
    day1, day2 = body["items"]
    assert day1 == {
        "tenant_id": "haneul-shop",
        "queue": "support",
        "name": "결제 상담",
        "period": "2026-11-20",
        "offered": 4,
        "answered": 2,
        "abandoned": 1,
        "short_abandoned": 1,
        "overflowed": 1,
        "callbacks": 0,
        "answer_rate": 0.5,
        "service_level": 0.5,  # q1 within 20 s of the two answered
        "service_level_seconds": 20,
        "service_level_mode": "answered",
        "avg_wait_seconds": 65.0,  # (10 + 30 + 40 + 180) / 4
        "max_wait_seconds": 180.0,
        "avg_talk_seconds": 90.0,
    }
    assert (day2["period"], day2["offered"], day2["service_level"]) == ("2026-11-21", 1, 1.0)
    status, body, _ = await admin.get("stats/queues?by=hour&from=2026-11-20&to=2026-11-20")
    assert [i["period"] for i in body["items"]] == ["2026-11-20T10:00:00+09:00"]
    for role in ("other", "owner", "manager"):
        client = await api.as_role(role)
        status, body, _ = await client.get("stats/queues?from=2026-11-20&to=2026-11-21")
        assert status == 200 and body["items"] == [], role
