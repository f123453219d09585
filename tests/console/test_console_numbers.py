"""A number's page: the form saves through the API's change path (dry run first, the
version as If-Match, the audit row), with the checks' messages next to their fields."""

from __future__ import annotations

import re

from ivr_engine.domain.access import Reach
from ivr_engine.domain.config_doc import entry_to_data
from ivr_engine.store import config_edit
from tests.api.conftest import PIZZA
from tests.console.conftest import POCHA, ConsoleServer

ALL = Reach(None, None, None, None)


def _form(text: str) -> dict[str, str]:
    """The number form's fields as the page filled them."""
    form = text[
        text.index('id="number-form"') : text.index("</form>", text.index('id="number-form"'))
    ]
    out = {}
    for name, value in re.findall(r'<input name="([^"]+)" value="([^"]*)"', form):
        out[name] = value
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form):
        out.setdefault(name, value)
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', form):
        out[name] = value
    for name, block in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option (?:value="([^"]*)" )?selected>([^<]*)', block)
        out[name] = (
            (chosen.group(1) if chosen.group(1) is not None else chosen.group(2)) if chosen else ""
        )
    out.pop("action", None)
    return out


async def _version(console: ConsoleServer) -> int:
    async with console.pool.acquire() as conn:
        detail = await config_edit.get_number(conn, ALL, PIZZA)
    assert detail is not None
    return detail.row.version


async def test_the_page_shows_settings_week_and_history(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    status, text = await b.get(f"/numbers/{PIZZA}")
    assert status == 200
    form = _form(text)
    assert form["schedule_open"] == "mon-fri 11:00-15:00 16:00-22:00\nsat 11:00-23:00"
    assert form["target_number_0"] == "010-1111-2222" and form["target_ring_0"] == "20"
    assert form["prompt_whisper"] == "배달앱 주문 전화입니다."
    assert int(form["version"]) == await _version(console)
    assert text.count('data-state="open"') >= 7  # the week chart
    status, other = await b.get(f"/numbers/{POCHA}")
    assert status == 404 and "0505-987-6543" not in other.replace("05059876543", "")


async def test_dry_run_shows_the_change_and_keeps_it_back(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    _, text = await b.get(f"/numbers/{PIZZA}")
    form = _form(text)
    before = await _version(console)
    form["schedule_open"] = "mon-fri 11:00-15:00 16:00-22:00\nsat-sun 10:00-20:00"
    status, text, _ = await b.post(f"/numbers/{PIZZA}", dict(form, action="dry_run"))
    assert status == 200
    assert 'id="dry-run-result"' in text
    assert "schedule.open.sat-sun" in text and "10:00-20:00" in text
    assert 'id="week-after"' in text
    assert await _version(console) == before
    assert (
        await console.pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'number.update'")
        == 0
    )


async def test_save_changes_the_number_and_writes_the_audit_row(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    _, text = await b.get(f"/numbers/{PIZZA}")
    form = _form(text)
    form["schedule_open"] = "mon-sun 09:00-21:00"
    status, text, resp = await b.post(f"/numbers/{PIZZA}", dict(form, action="save"))
    assert status == 200 and resp.url.query.get("saved") == "1" and 'id="saved"' in text
    async with console.pool.acquire() as conn:
        detail = await config_edit.get_number(conn, ALL, PIZZA)
    assert detail is not None and detail.row.version > int(form["version"])
    assert entry_to_data(detail.entry)["schedule"]["open"] == {"daily": ["09:00-21:00"]}
    row = await console.pool.fetchrow(
        "SELECT actor, via, resource_id, old_value, new_value FROM audit_log "
        "WHERE action = 'number.update'"
    )
    assert row["actor"] == "owner@pizza.kr" and row["via"] == "console"
    assert row["resource_id"] == PIZZA
    assert row["new_value"]["config"]["schedule"]["open"] == {"daily": ["09:00-21:00"]}
    assert row["old_value"]["version"] == int(form["version"])
    _, audit_page = await b.get("/audit")
    assert "number.update" in audit_page and PIZZA in audit_page


async def test_a_stale_form_is_refused_with_the_latest_loaded(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    _, text = await b.get(f"/numbers/{PIZZA}")
    stale = _form(text)
    status, _, _ = await b.post(f"/numbers/{PIZZA}", dict(stale, label="first", action="save"))
    assert status == 200
    status, text, _ = await b.post(f"/numbers/{PIZZA}", dict(stale, label="second", action="save"))
    assert status == 409 and "다른 사용자가 먼저 변경했습니다" in text
    assert _form(text)["label"] == "first"  # the form now holds what is saved
    assert _form(text)["version"] == str(await _version(console))


async def test_validation_messages_sit_next_to_their_fields(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    _, text = await b.get(f"/numbers/{PIZZA}")
    form = _form(text)
    before = await _version(console)
    status, text, _ = await b.post(
        f"/numbers/{PIZZA}", dict(form, schedule_open="mon-fri 25:00-26:00", action="dry_run")
    )
    assert status == 400 and 'id="error-schedule_open"' in text and "25:00" in text
    status, text, _ = await b.post(
        f"/numbers/{PIZZA}", dict(form, prompt_lunch="가" * 300, action="save")
    )
    assert status == 400 and 'id="error-prompt_lunch"' in text
    assert await _version(console) == before


async def test_staff_read_but_cannot_save(console: ConsoleServer) -> None:
    b = await console.as_role("staff")
    status, text = await b.get(f"/numbers/{PIZZA}")
    assert status == 200 and "조회 전용" in text and "010-1111-2222" not in text
    form = _form(text)
    status, _, _ = await b.post(f"/numbers/{PIZZA}", dict(form, label="x", action="save"))
    assert status == 403


async def test_what_a_caller_hears_at_a_given_time(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    status, text = await b.get(
        f"/numbers/{PIZZA}/hear?at=2026-11-20T15:30", headers={"HX-Request": "true"}
    )
    assert status == 200 and "<html" not in text
    assert "lunch" in text and "2026-11-20 15:30 +09:00" in text
    status, text = await b.get(f"/numbers/{PIZZA}/hear?at=2026-11-20T12:00")
    assert status == 200 and "<html" in text and "forward" in text


async def test_holidays_block_list_and_free_pass_are_edited_and_checked(
    console: ConsoleServer,
) -> None:
    b = await console.as_role("owner")
    _, text = await b.get(f"/numbers/{PIZZA}")
    form = _form(text)
    assert form["holidays"] == "2026-12-31 송년 휴무\n06-15 창립기념일"
    assert form["block_list"] == "010-9999-0000" and form["free_pass"] == "010-5555-6666"
    before = await _version(console)
    status, text, _ = await b.post(
        f"/numbers/{PIZZA}", dict(form, holidays="2026-13-01 없는 달", action="save")
    )
    assert status == 400 and 'id="error-holidays"' in text and "line 1" in text
    status, text, _ = await b.post(
        f"/numbers/{PIZZA}", dict(form, free_pass="010-5555-6666\n전화번호", action="save")
    )
    assert status == 400 and 'id="error-free_pass"' in text and "line 2" in text
    assert await _version(console) == before
    changed = dict(
        form,
        holidays="2026-12-31 송년 휴무\n2026-11-21 임시 휴무\n06-15 창립기념일",
        block_list="010-9999-0000\n010-4444-3333",
        free_pass="",
        action="save",
    )
    status, text, _ = await b.post(f"/numbers/{PIZZA}", changed)
    assert status == 200 and 'id="saved"' in text
    async with console.pool.acquire() as conn:
        detail = await config_edit.get_number(conn, ALL, PIZZA)
    assert detail is not None
    data = entry_to_data(detail.entry)
    assert {"date": "2026-11-21", "name": "임시 휴무"} in data["holidays"]
    assert sorted(data["block_list"]) == ["010-4444-3333", "010-9999-0000"]
    assert "free_pass" not in data
    # Saturday 2026-11-21 is now a holiday: the week chart says so.
    _, text = await b.get(f"/numbers/{PIZZA}")
    assert 'data-state="holiday"' in text
