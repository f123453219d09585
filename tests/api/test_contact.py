"""Agents, callback requests, SMS, menus / queues and prompts through the API."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import aiohttp

from .conftest import PIZZA_AGENT, ApiServer


async def test_agents_are_seen_and_driven_inside_the_tenant(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    status, page, _ = await owner.get("agents")
    assert status == 200 and [a["id"] for a in page["items"]] == [PIZZA_AGENT]
    status, page, _ = await (await api.as_role("other")).get("agents")
    assert PIZZA_AGENT not in {a["id"] for a in page["items"]}
    status, agent, _ = await owner.call(
        "POST", f"agents/{PIZZA_AGENT}/state", json={"state": "login"}
    )
    assert status == 200 and agent["state"] == "ready"
    status, agent, _ = await owner.call(
        "POST", f"agents/{PIZZA_AGENT}/state", json={"state": "rest", "reason": "점심"}
    )
    assert agent["state"] == "rest" and agent["reason"] == "점심"
    status, body, _ = await owner.call("POST", f"agents/{PIZZA_AGENT}/state", json={"state": "x"})
    assert status == 400 and body["error"]["field"] == "state"
    staff = await api.as_role("staff")
    status, _, _ = await staff.call("POST", f"agents/{PIZZA_AGENT}/state", json={"state": "ready"})
    assert status == 403
    rows = await api.pool.fetch(
        "SELECT old_value, new_value FROM audit_log WHERE action = 'agent.state' ORDER BY id"
    )
    assert [(r["old_value"]["state"], r["new_value"]["state"]) for r in rows] == [
        ("offline", "ready"),
        ("ready", "rest"),
    ]


async def test_callbacks_mask_callers_until_an_audited_reveal(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    status, page, _ = await owner.get("callbacks")
    assert status == 200
    [cb] = page["items"]
    assert cb["caller"] == "010-73**-24**" and cb["status"] == "open"
    status, page, _ = await owner.get("callbacks?reveal=true")
    assert page["items"][0]["caller"] == "010-7391-2468"
    audit = await api.pool.fetchrow("SELECT * FROM audit_log WHERE action = 'callback.reveal'")
    assert audit["actor"] == "owner@pizza.kr" and audit["detail"]["ids"] == [str(cb["id"])]
    staff = await api.as_role("staff")
    status, page, _ = await staff.get("callbacks")
    assert status == 200 and page["items"][0]["caller"] == "010-73**-24**"
    status, _, _ = await staff.get("callbacks?reveal=true")
    assert status == 403
    status, done, _ = await owner.call(
        "POST", f"callbacks/{cb['id']}/assign", json={"agent": PIZZA_AGENT}
    )
    assert status == 200 and done["status"] == "assigned" and done["agent"] == PIZZA_AGENT
    status, done, _ = await owner.call(
        "POST", f"callbacks/{cb['id']}/complete", json={"note": "통화 완료"}
    )
    assert status == 200 and done["status"] == "completed"
    status, body, _ = await owner.call("POST", f"callbacks/{cb['id']}/complete", json={})
    assert status == 409 and body["error"]["code"] == "conflict"
    status, page, _ = await owner.get("callbacks")
    assert page["items"] == []
    status, page, _ = await owner.get("callbacks?status=completed")
    assert [c["note"] for c in page["items"]] == ["통화 완료"]


async def test_sms_outbox_approval_and_opt_outs(api: ApiServer) -> None:
    owner = await api.as_role("owner")
    status, page, _ = await owner.get("sms/outbox?state=held")
    assert status == 200
    [text] = page["items"]
    assert text["recipient"] == "010-73**-24**" and text["number"] == "0505-123-4567"
    status, page, _ = await owner.get("sms/outbox?state=held&reveal=true")
    assert page["items"][0]["recipient"] == "010-7391-2468"
    row = await api.pool.fetchrow("SELECT * FROM audit_log WHERE action = 'sms.reveal'")
    assert row["actor"] == "owner@pizza.kr" and row["detail"]["ids"] == [str(text["id"])]
    status, _, _ = await (await api.as_role("staff")).get("sms/outbox?reveal=true")
    assert status == 403
    status, body, _ = await (await api.as_role("other")).call(
        "POST", "sms/outbox/approve", json={"ids": [text["id"]]}
    )
    assert status == 404
    status, body, _ = await owner.call("POST", "sms/outbox/approve", json={"ids": [text["id"]]})
    assert status == 200 and body["approved"] == [text["id"]]
    assert await api.pool.fetchval("SELECT state FROM sms_outbox WHERE id = $1", text["id"]) == (
        "queued"
    )
    status, body, _ = await owner.call("POST", "sms/optouts", json={"numbers": ["010-1357-2468"]})
    assert status == 201 and body["added"] == 1
    status, page, _ = await owner.get("sms/optouts")
    assert len(page["items"]) == 2
    status, _, _ = await owner.call("DELETE", "sms/optouts/010-1357-2468")
    assert status == 204
    status, _, _ = await owner.call("DELETE", "sms/optouts/010-1357-2468")
    assert status == 404
    status, body, _ = await owner.call("POST", "sms/optouts", json={"numbers": ["not a number"]})
    assert status == 400 and body["error"]["field"] == "numbers[0]"


async def test_menus_and_queues_as_configured(api: ApiServer) -> None:
    admin = await api.as_role("admin")
    status, page, _ = await admin.get("queues")
    assert status == 200
    support = [q for q in page["items"] if q["tenant_id"] == "haneul-shop" and q["id"] == "support"]
    assert support and support[0]["waiting"] == 0
    status, page, _ = await admin.get("menus")
    assert any(m["tenant_id"] == "haneul-shop" for m in page["items"])
    status, page, _ = await (await api.as_role("owner")).get("queues")
    assert all(q["tenant_id"] == "gangnam-pizza" for q in page["items"])


async def test_a_prompt_is_previewed_as_callers_hear_it_and_uploads_are_checked(
    api: ApiServer, tmp_path: Path
) -> None:
    owner = await api.as_role("owner")
    status, wav, resp = await owner.call("POST", "prompts/preview", json={"text": "안녕하세요"})
    assert status == 200 and resp.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 800  # longer than 0.1 s
    status, body, _ = await owner.call("POST", "prompts/preview", json={"text": "가" * 241})
    assert status == 400 and "240" in body["error"]["message"]
    form = aiohttp.FormData()
    form.add_field("name", "인사말")
    form.add_field("file", wav, filename="greeting.wav", content_type="audio/wav")
    async with owner.session.post(
        f"{api.base}/api/v1/prompts/upload", data=form, headers={"X-CSRF-Token": owner.csrf or ""}
    ) as r:
        assert r.status == 201, await r.text()
        stored = (await r.json())["audio"]
    assert stored.endswith("uploads/gangnam-pizza/인사말.wav")
    with wave.open(stored) as w:
        assert w.getframerate() == 8000
    form = aiohttp.FormData()
    form.add_field("file", b"not audio at all", filename="x.mp3")
    async with owner.session.post(
        f"{api.base}/api/v1/prompts/upload", data=form, headers={"X-CSRF-Token": owner.csrf or ""}
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"]["field"] == "file"
