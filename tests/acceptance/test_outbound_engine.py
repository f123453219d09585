"""Outbound calls the serving engine places, through the simulator over real sockets on a
real Postgres: reverse masking (a customer calling the shown number back reaches the
member who called, until the session expires) and the access number (a member calls the
tenant's 050 access number, keys the destination or 1 for the last caller)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import aiohttp
import asyncpg

from ivr_engine.calls.outbound_engine import Finished
from ivr_engine.commands.users import add_user, create_token
from ivr_engine.domain.outbound import Refusal
from ivr_engine.domain.outbound_record import OutboundOutcome
from ivr_engine.sim import Behaviour
from ivr_engine.sim import timeline as tl
from ivr_engine.store import minutes

from .conftest import SEOUL, EngineFactory, Harness, shifted_clock

VN, ACCESS = "05051234567", "05051239999"
KIM, CUSTOMER, TARGET = "01077778888", "01020003000", "01011112222"
STRANGER = "01055554444"
AT = datetime(2026, 11, 20, 12, 0)  # a Friday noon in Seoul
CONFIG = """
tenants:
  - id: acme
    name: Acme
    timezone: Asia/Seoul
    caller_ids:
      - {number: 0505-123-4567, verified: true, evidence: 050 가입증명서}
    members:
      - {name: 김민수, mobile: 010-7777-8888}
    outbound: {ring_seconds: 10, reverse_masking_hours: 2, access_number: 0505-123-9999}
    numbers:
      - number: 0505-123-4567
        targets: [{number: 010-1111-2222, ring_seconds: 10}]
      - number: 0505-123-9999
"""


async def start(call_engine: EngineFactory, seconds: int = 600) -> Harness:
    h = await call_engine(AT, load=False)
    await h.load_yaml(CONFIG)
    pool: asyncpg.Pool = h.engine.db.pool
    await minutes.charge(pool, "acme", 6000, "test")
    await minutes.allocate(pool, "acme", KIM, seconds)
    h.engine.env.time_scale = h.sim.config.speed
    return h


async def finished(h: Harness, call_id: str) -> Finished:
    dialer = h.engine.dialer
    assert dialer is not None
    async with asyncio.timeout(15):
        while call_id not in dialer.finished:
            task = dialer.calls.get(call_id)
            if task is not None:
                await task
            else:
                await asyncio.sleep(0)
    return dialer.finished[call_id]


def rang(h: Harness, number: str) -> list[str]:
    """Channels the engine originated to ``number``."""
    return [c.id for c in h.sim.world.all_channels.values() if c.endpoint_resource == number]


async def test_customer_calling_back_reaches_the_member_until_the_session_expires(
    call_engine: EngineFactory,
) -> None:
    h = await start(call_engine)
    dialer = h.engine.dialer
    assert dialer is not None
    h.sim.set_behaviour(KIM, Behaviour.answer_after(1.0, talk=None))
    h.sim.set_behaviour(CUSTOMER, Behaviour.answer_after(1.0, talk=3.0))
    call_id = await dialer.place(KIM, CUSTOMER)
    assert isinstance(call_id, str)
    done = await finished(h, call_id)
    assert done.facts.outcome is OutboundOutcome.COMPLETED and done.charged_seconds == 60
    row = await h.engine.db.pool.fetchrow(
        "SELECT customer, member, shown_number FROM proxy_sessions WHERE call_id = $1", call_id
    )
    assert tuple(row) == (CUSTOMER, KIM, VN)

    # The customer calls the number they saw: the member's mobile rings, showing the 050
    # number (never the customer's), not the number's own target.
    h.sim.set_behaviour(KIM, Behaviour.answer_after(1.0, talk=2.0))
    before = set(rang(h, KIM))
    back = await h.call(VN, CUSTOMER)
    trace = await h.finished(back)
    (leg,) = set(rang(h, KIM)) - before
    assert h.sim.world.all_channels[leg].caller_number == VN
    assert [a.target for a in trace.attempts] == [KIM] and trace.answered_target == KIM
    assert any("김민수" in r for r in trace.reasons)
    assert tl.BRIDGED in h.kinds(back.channel_id) and not rang(h, TARGET)

    # Two hours (the tenant's window) later the number's normal plan applies again.
    h.engine.env.clock = shifted_clock(
        (AT + timedelta(hours=2, minutes=1)).replace(tzinfo=SEOUL), h.sim.config.speed
    )
    h.sim.set_behaviour(TARGET, Behaviour.answer_after(1.0, talk=2.0))
    later = await h.call(VN, CUSTOMER)
    trace = await h.finished(later)
    assert [a.target for a in trace.attempts] == [TARGET]
    assert any("expired" in r for r in trace.reasons)


async def test_member_keys_a_destination_on_the_access_number(
    call_engine: EngineFactory,
) -> None:
    h = await start(call_engine, seconds=120)
    h.sim.set_behaviour(CUSTOMER, Behaviour.answer_after(1.0, talk=5.0))
    call = await h.call(ACCESS, KIM, dtmf=((2.0, "01020003000#"),))
    trace = await h.finished(call, timeout=20)

    (leg,) = rang(h, CUSTOMER)
    customer = h.sim.world.all_channels[leg]
    assert customer.caller_number == VN  # the registered caller ID, not the member's mobile
    assert [e.peer for e in customer.timeline.entries if e.kind == tl.BRIDGED] == [call.channel_id]
    plays = [e.media for e in h.sim.timeline(call.channel_id) if e.kind == tl.PLAY]
    assert plays[:2] == ["sound:ivr/system/access-menu", "sound:ivr/system/connecting"]
    assert trace.outcome == "access"
    pool = h.engine.db.pool
    row = await pool.fetchrow(
        "SELECT call_id, member, destination, caller_id_shown, charged_seconds, direction"
        " FROM call_records WHERE direction = 'outbound'"
    )
    assert (row["member"], row["destination"], row["caller_id_shown"]) == (KIM, CUSTOMER, VN)
    assert row["charged_seconds"] == 60
    assert await minutes.balance(pool, "acme", KIM) == 60
    kinds = await pool.fetch(
        "SELECT kind FROM minute_ledger WHERE call_id = $1 ORDER BY id", row["call_id"]
    )
    assert [k["kind"] for k in kinds] == ["reserve", "release", "use"]


async def test_key_1_calls_back_the_last_customer(call_engine: EngineFactory) -> None:
    h = await start(call_engine)
    h.sim.set_behaviour(TARGET, Behaviour.answer_after(1.0, talk=1.0))
    first = await h.call(VN, CUSTOMER)  # a customer calls the company's number
    await h.finished(first)
    await h.engine.cdr.flush()
    h.sim.set_behaviour(CUSTOMER, Behaviour.answer_after(1.0, talk=2.0))
    call = await h.call(ACCESS, KIM, dtmf=((2.0, "1#"),))
    await h.finished(call, timeout=20)
    (leg,) = rang(h, CUSTOMER)
    assert h.sim.world.all_channels[leg].caller_number == VN
    assert tl.BRIDGED in h.kinds(leg)


async def test_unregistered_caller_is_refused_with_a_prompt(call_engine: EngineFactory) -> None:
    h = await start(call_engine)
    call = await h.call(ACCESS, STRANGER, dtmf=((2.0, "01020003000#"),))
    trace = await h.finished(call)
    plays = [e.media for e in h.sim.timeline(call.channel_id) if e.kind == tl.PLAY]
    assert plays == ["sound:ivr/system/access-not-member"]
    assert trace.hangup_cause == 21 and not rang(h, CUSTOMER)


async def test_refused_destination_is_announced(call_engine: EngineFactory) -> None:
    h = await start(call_engine)
    call = await h.call(ACCESS, KIM, dtmf=((2.0, "0601234567#"),))
    trace = await h.finished(call)
    plays = [e.media for e in h.sim.timeline(call.channel_id) if e.kind == tl.PLAY]
    assert plays == ["sound:ivr/system/access-menu", "sound:ivr/system/access-refused"]
    assert trace.hangup_cause == 21
    dialer = h.engine.dialer
    assert dialer is not None
    refused = await dialer.place(KIM, "060-123-4567")
    assert isinstance(refused, Refusal) and refused.code.value == "destination-blocked"


async def test_click_to_call_and_call_back_through_the_engines_api(
    call_engine: EngineFactory,
) -> None:
    h = await start(call_engine)
    pool = h.engine.db.pool
    await add_user(pool, "owner@acme.kr", "tenant-owner", "correct horse battery", tenant="acme")
    secret, _ = await create_token(pool, "owner@acme.kr", "crm", ("read", "write"))
    assert h.engine.http is not None
    host, port = h.engine.http.addresses[0][:2]
    base = f"http://{host}:{port}/api/v1"
    h.sim.set_behaviour(KIM, Behaviour.answer_after(1.0, talk=None))
    h.sim.set_behaviour(CUSTOMER, Behaviour.answer_after(1.0, talk=2.0))
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as http:
        async with http.post(
            f"{base}/calls", json={"member": "김민수", "to": "010-2000-3000"}
        ) as resp:
            assert resp.status == 202, await resp.text()
            call_id = (await resp.json())["call_id"]
        done = await finished(h, call_id)
        assert done.facts.outcome is OutboundOutcome.COMPLETED

        # A stranger's missed call, then "call back" on its record.
        missed = await h.call(VN, STRANGER, hangup_after=2.0)
        await h.finished(missed)
        await h.engine.cdr.flush()
        h.sim.set_behaviour(STRANGER, Behaviour.answer_after(1.0, talk=2.0))
        async with http.post(
            f"{base}/calls/{missed.channel_id}/callback", json={"member": "010-7777-8888"}
        ) as resp:
            assert resp.status == 202, await resp.text()
            back_id = (await resp.json())["call_id"]
        done = await finished(h, back_id)
        assert done.facts.outcome is OutboundOutcome.COMPLETED
        (leg,) = rang(h, STRANGER)
        assert h.sim.world.all_channels[leg].caller_number == VN

        async with http.post(
            f"{base}/calls", json={"member": "김민수", "to": "0601234567"}
        ) as resp:
            body = await resp.json()
        assert resp.status == 409 and body["error"]["code"] == "call_refused"
        assert body["error"]["refusal"] == "destination-blocked"
    rows = await pool.fetch(
        "SELECT destination FROM call_records WHERE direction = 'outbound' ORDER BY start_time"
    )
    assert [r["destination"] for r in rows][:2] == [CUSTOMER, STRANGER]
    audited = await pool.fetch("SELECT resource_id FROM audit_log WHERE action = 'call.dial'")
    assert {call_id, back_id} <= {r["resource_id"] for r in audited}
