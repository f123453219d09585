"""The console and the API served together over a real socket, as the engine serves them,
on a fresh database holding the sample configuration and one account per role (the API
tests' ``seed``), with a few call records."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from ivr_engine.api.app import MOUNT, build_api
from ivr_engine.api.context import ApiContext
from ivr_engine.console.app import install_console
from tests.api.conftest import ACCOUNTS, PASSWORD, PIZZA, seed

NOW = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)  # Friday 12:30 in Seoul
CALLER = "01020003000"
POCHA = "05059876543"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def add_record(
    pool: asyncpg.Pool,
    call_id: str,
    *,
    number: str = PIZZA,
    tenant: str = "gangnam-pizza",
    caller: str = CALLER,
    start: datetime = NOW - timedelta(hours=1),
    disposition: str = "ANSWERED",
) -> None:
    """One finished call record."""
    answered = disposition == "ANSWERED"
    await pool.execute(
        "INSERT INTO call_records (call_id, uniqueid, linkedid, tenant_id, number, caller, "
        "caller_raw, start_time, ring_time, answer_time, end_time, ring_seconds, billsec, "
        "duration, disposition, asterisk_disposition, attempts, answered_target, reasons, "
        "hangup_by, hangup_cause) VALUES ($1, $1, $1, $2, $3, $4, $4, $5, $5, $6, $7, 3, $8, "
        "$9, $10, $11, $12, $13, $14, 'caller', 16)",
        call_id,
        tenant,
        number,
        caller,
        start,
        start + timedelta(seconds=4) if answered else None,
        start + timedelta(seconds=40),
        36 if answered else 0,
        40,
        disposition,
        "ANSWERED" if answered else "NO ANSWER",
        [
            {
                "target": "01011112222",
                "result": "answered" if answered else "no_answer",
                "cause": None if answered else 19,
                "ring_seconds": 3.0,
            }
        ],
        "01011112222" if answered else None,
        ["open hours 11:00-15:00"],
    )


class Browser:
    """A browser without JavaScript: cookies, forms with the page's CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        async with self.session.get(self.base + path, **kw) as resp:
            text = await resp.text()
            found = _CSRF.search(text)
            if found:
                self.csrf = found.group(1)
            return resp.status, text

    async def post(
        self, path: str, data: dict[str, str], *, csrf: bool = True, **kw: Any
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        form = dict(data)
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        async with self.session.post(self.base + path, data=form, **kw) as resp:
            return resp.status, await resp.text(), resp

    async def sign_in(self, email: str, password: str = PASSWORD) -> tuple[int, str]:
        await self.get("/login")
        status, text, _ = await self.post("/login", {"email": email, "password": password})
        await self.get("/")
        return status, text


@dataclass
class ConsoleServer:
    base: str
    pool: asyncpg.Pool
    ctx: ApiContext
    users: dict[str, int] = field(default_factory=dict)
    browsers: list[Browser] = field(default_factory=list)

    def browser(self) -> Browser:
        b = Browser(self.base)
        self.browsers.append(b)
        return b

    async def as_role(self, name: str) -> Browser:
        b = self.browser()
        status, text = await b.sign_in(ACCOUNTS[name]["email"])
        assert status == 200, text
        return b


async def serve(pool: asyncpg.Pool, clock: Any = lambda: NOW) -> tuple[web.AppRunner, str]:
    """The API and the console on a free port of 127.0.0.1, as ``service.py`` mounts them."""
    ctx = ApiContext(pool, clock=clock)
    app = web.Application()
    app.add_subapp(MOUNT, build_api(ctx))
    install_console(app, ctx)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def console(pool: asyncpg.Pool) -> AsyncIterator[ConsoleServer]:
    users = await seed(pool)
    await add_record(pool, "c-1")
    await add_record(pool, "c-2", disposition="NO_ANSWER", start=NOW - timedelta(minutes=20))
    await add_record(pool, "p-1", number=POCHA, tenant="hongdae-pocha", caller="01077770000")
    runner, base = await serve(pool)
    server = ConsoleServer(base, pool, ApiContext(pool), users)
    try:
        yield server
    finally:
        for b in server.browsers:
            await b.session.close()
        await runner.cleanup()
