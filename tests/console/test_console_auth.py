"""Signing in to the console: the form's CSRF token, wrong passwords, lock-out, the
language, signing out, and the first admin of a new install."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import asyncpg

from ivr_engine.console.bootstrap import FIRST_ADMIN, console_lines, ensure_first_admin
from tests.api.conftest import ACCOUNTS
from tests.console.conftest import ConsoleServer, serve

OWNER = ACCOUNTS["owner"]["email"]


async def test_pages_send_a_stranger_to_the_sign_in_form(console: ConsoleServer) -> None:
    b = console.browser()
    async with b.session.get(console.base + "/numbers", allow_redirects=False) as resp:
        assert resp.status == 303
        where = urlsplit(resp.headers["Location"])
        assert where.path == "/login" and parse_qs(where.query) == {"next": ["/numbers"]}
    status, text = await b.get("/login?next=%2Fnumbers")
    assert status == 200 and 'name="password"' in text and "로그인" in text


async def test_signing_in_goes_where_the_user_was_going(console: ConsoleServer) -> None:
    b = console.browser()
    await b.get("/login?next=%2Fnumbers")
    status, text, resp = await b.post(
        "/login", {"email": OWNER, "password": "correct horse battery", "next": "/numbers"}
    )
    assert status == 200 and resp.url.path == "/numbers"
    assert "0505-123-4567" in text and "0505-987-6543" not in text  # own tenant only


async def test_a_sign_in_without_the_form_token_is_refused(console: ConsoleServer) -> None:
    b = console.browser()
    status, text, _ = await b.post(
        "/login", {"email": OWNER, "password": "correct horse battery"}, csrf=False
    )
    assert status == 403 and "양식이 만료" in text
    status, _ = await b.get("/numbers", allow_redirects=False)
    assert status == 303


async def test_wrong_passwords_then_lock_out(console: ConsoleServer) -> None:
    b = console.browser()
    for _ in range(5):
        status, text = await b.sign_in(OWNER, "wrong password!")
        assert status == 401 and "이메일 또는 비밀번호가 틀렸습니다" in text
    status, text = await b.sign_in(OWNER)  # the right password, but locked now
    assert status == 423
    assert "계정이 잠겼습니다" in text and "locked until" in text
    rows = await console.pool.fetch(
        "SELECT action FROM audit_log WHERE actor = $1 ORDER BY id", OWNER
    )
    assert [r["action"] for r in rows] == ["login.failed"] * 5 + ["login.locked"]


async def test_english_on_request_and_signing_out(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    status, text = await b.get("/numbers?lang=en")
    assert status == 200 and ">Numbers<" in text and "Sign out" in text
    status, text = await b.get("/")  # the choice is kept
    assert "Dashboard" in text
    status, text, resp = await b.post("/logout", {})
    assert resp.url.path == "/login"
    status, _ = await b.get("/", allow_redirects=False)
    assert status == 303


async def test_a_form_post_without_the_session_token_is_refused(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    status, text, _ = await b.post("/logout", {"csrf_token": "forged"})
    assert status == 403 and "보안 토큰" in text
    status, _ = await b.get("/")
    assert status == 200  # still signed in


async def test_the_first_admin_is_made_once_and_can_sign_in(pool: asyncpg.Pool) -> None:
    password = await ensure_first_admin(pool)
    assert password is not None and len(password) >= 12
    assert await ensure_first_admin(pool) is None
    lines = console_lines("http://127.0.0.1:8080", password)
    assert lines[0].startswith("operator console: http://127.0.0.1:8080/")
    assert password in lines[1] and "ivr-engine user password admin@localhost" in lines[2]
    runner, base = await serve(pool)
    try:
        server = ConsoleServer(base, pool, None)  # type: ignore[arg-type]
        b = server.browser()
        status, text = await b.sign_in(FIRST_ADMIN, password)
        assert status == 200 and "플랫폼 관리자" in text
        await b.session.close()
    finally:
        await runner.cleanup()


async def test_the_tenant_allowlist_applies_to_the_console(console: ConsoleServer) -> None:
    b = await console.as_role("owner")
    status, _ = await b.get("/numbers")
    assert status == 200
    await console.pool.execute(
        "UPDATE tenants SET ip_allowlist = '{10.20.0.0/16}' WHERE id = 'gangnam-pizza'"
    )
    status, text = await b.get("/numbers")
    assert status == 403 and "127.0.0.1" in text
    status, text = await console.browser().sign_in(OWNER)
    assert status == 403
    other = await console.as_role("other")  # a tenant without a list is unaffected
    status, _ = await other.get("/numbers")
    assert status == 200
