"""The console in a real browser: sign in, change a number's schedule, see the dry run's
change, save, see the audit row, export call records, watch an agent change state live,
and a screenshot of each main page (also at a phone's width)."""

from __future__ import annotations

import asyncio
import csv
import io
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.api.conftest import PASSWORD, PIZZA

WAIT = 15


def sign_in(driver: Any, base: str, email: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "calls-today")))


def shoot(driver: Any, shots: Path, name: str) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(max(height + 120, 600), 4000))
    driver.save_screenshot(str(shots / f"{name}.png"))


def test_change_a_schedule_with_a_dry_run_then_save(
    driver: Any, console_url: str, shots: Path
) -> None:
    driver.get(f"{console_url}/login")
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "login-form")))
    shoot(driver, shots, "01-sign-in")
    sign_in(driver, console_url, "owner@pizza.kr")
    assert driver.find_element(By.ID, "calls-today").text == "2"
    shoot(driver, shots, "02-dashboard")

    driver.get(f"{console_url}/numbers/{PIZZA}")
    field = WebDriverWait(driver, WAIT).until(
        ec.presence_of_element_located((By.ID, "schedule_open"))
    )
    field.clear()
    field.send_keys("mon-fri 11:00-15:00 16:00-22:00\nsat-sun 10:00-20:00")
    driver.find_element(By.ID, "dry-run").click()
    result = WebDriverWait(driver, WAIT).until(
        ec.presence_of_element_located((By.ID, "dry-run-result"))
    )
    assert "schedule.open.sat-sun" in result.text and "10:00-20:00" in result.text
    assert driver.find_elements(By.CSS_SELECTOR, "#week-after svg rect[data-state=open]")
    shoot(driver, shots, "03-number-dry-run")

    driver.find_element(By.ID, "save").click()
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "saved")))
    value = driver.find_element(By.ID, "schedule_open").get_attribute("value")
    assert "sat-sun 10:00-20:00" in value
    # what a caller hears on Sunday at noon, asked in place (htmx)
    hear = driver.find_element(By.CSS_SELECTOR, "#hear-form input[name=at]")
    driver.execute_script("arguments[0].value = '2026-11-22T12:00'", hear)
    driver.find_element(By.CSS_SELECTOR, "#hear-form button").click()
    answer = WebDriverWait(driver, WAIT).until(
        ec.presence_of_element_located((By.ID, "hear-answer"))
    )
    assert "open" in answer.text and "forward" in answer.text
    assert driver.current_url.startswith(f"{console_url}/numbers/{PIZZA}")  # no page change
    shoot(driver, shots, "04-number-saved")

    driver.get(f"{console_url}/audit")
    rows = WebDriverWait(driver, WAIT).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#audit tbody tr"))
    )
    assert "number.update" in rows[0].text and PIZZA in rows[0].text
    assert "owner@pizza.kr" in rows[0].text
    shoot(driver, shots, "05-audit")


def test_records_their_story_and_the_export(driver: Any, console_url: str, shots: Path) -> None:
    sign_in(driver, console_url, "gangnam@pizza.kr")
    driver.get(f"{console_url}/records?from=2026-11-20&to=2026-11-20")
    rows = WebDriverWait(driver, WAIT).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#records tbody tr"))
    )
    assert len(rows) == 2 and "010-20**-30**" in rows[0].text
    shoot(driver, shots, "06-records")
    driver.find_element(By.CSS_SELECTOR, 'tr[data-call="c-1"] a').click()
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "trace")))
    driver.find_element(By.ID, "reveal").click()
    WebDriverWait(driver, WAIT).until(
        ec.text_to_be_present_in_element((By.ID, "caller"), "010-2000-3000")
    )
    shoot(driver, shots, "07-call-story")
    driver.get(f"{console_url}/stats")
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "daily-chart")))
    shoot(driver, shots, "08-statistics")

    driver.get(f"{console_url}/records?from=2026-11-20&to=2026-11-20")
    href = (
        WebDriverWait(driver, WAIT)
        .until(ec.presence_of_element_located((By.ID, "export-csv")))
        .get_attribute("href")
    )
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(href, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=WAIT) as resp:
        assert resp.headers["Content-Type"].startswith("text/csv")
        body = resp.read().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    exported = "\n".join(",".join(r) for r in rows)
    assert "c-1" in exported and "c-2" in exported and "p-1" not in exported


def test_agents_board_updates_live_and_fits_a_phone(
    driver: Any, console_url: str, db_url: str, shots: Path
) -> None:
    from datetime import UTC, datetime

    from ivr_engine.store import agents
    from ivr_engine.store.pool import create_pool_for_url

    async def add_and_login(login: bool) -> None:
        pool = await create_pool_for_url(db_url)
        try:
            now = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
            if login:
                await agents.login(pool, "haneul-kim", now=now)
            else:
                await agents.add_agent(
                    pool, "haneul-kim", "haneul-shop", "PJSIP/k", now=now, name="김상담"
                )
        finally:
            await pool.close()

    asyncio.run(add_and_login(False))
    sign_in(driver, console_url, "root@platform.kr")
    driver.get(f"{console_url}/agents")
    WebDriverWait(driver, WAIT).until(
        ec.text_to_be_present_in_element_attribute((By.ID, "live-status"), "class", "on")
    )
    badge = driver.find_element(By.CSS_SELECTOR, 'tr[data-agent="haneul-kim"] [data-field=state]')
    assert badge.text == "offline"
    asyncio.run(add_and_login(True))
    WebDriverWait(driver, WAIT).until(
        ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, 'tr[data-agent="haneul-kim"] [data-field=state]'), "ready"
        )
    )
    shoot(driver, shots, "09-agents-live")
    driver.set_window_size(390, 844)
    driver.get(f"{console_url}/")
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "calls-today")))
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400  # nothing wider than the phone
    shoot(driver, shots, "10-dashboard-phone")


def test_call_back_a_missed_call_from_its_page(
    driver: Any, engine_console_url: str, shots: Path
) -> None:
    from tests.api.conftest import PIZZA_MISSED

    sign_in(driver, engine_console_url, "owner@pizza.kr")
    driver.get(f"{engine_console_url}/records/{PIZZA_MISSED}")
    button = WebDriverWait(driver, WAIT).until(
        ec.element_to_be_clickable((By.ID, "call-back-button"))
    )
    member = Select(driver.find_element(By.ID, "member-select"))
    member.select_by_visible_text("김민수 (010-77**-88**)")
    Select(driver.find_element(By.ID, "caller-id-select")).select_by_visible_text("0505-123-4567")
    button.click()
    result = WebDriverWait(driver, WAIT).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#call-result[data-call-id]"))
    )
    call_id = result.get_attribute("data-call-id")
    assert call_id and call_id.startswith("out-") and call_id in result.text
    assert driver.current_url.endswith(f"/records/{PIZZA_MISSED}")  # htmx: in place
    shoot(driver, shots, "11-call-back")
    driver.get(f"{engine_console_url}/members")
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "member-form")))
    assert "010-77**-88**" in driver.find_element(By.ID, "members").text
    shoot(driver, shots, "12-members")
    driver.get(f"{engine_console_url}/minutes")
    pool = WebDriverWait(driver, WAIT).until(
        ec.presence_of_element_located((By.ID, "pool-balance"))
    )
    assert pool.text == "90분"
    shoot(driver, shots, "13-minutes")
