"""The admin API served over a real socket on a fresh database holding the sample
configuration, with one account per role (and the other tenant's owner)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from ivr_engine.api.app import MOUNT, build_api
from ivr_engine.api.context import ApiContext
from ivr_engine.commands.users import add_user, create_token
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.domain.members import Member
from ivr_engine.store import minutes
from ivr_engine.store.agents import add_agent
from ivr_engine.store.callbacks import register_callback
from ivr_engine.store.loader import load_document
from ivr_engine.store.members import add_member

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
PASSWORD = "correct horse battery"
PIZZA = "05051234567"  # gangnam-pizza's first number
PIZZA_AGENT = "pizza-kim"
POCHA_TENANT = "hongdae-pocha"
PIZZA_MEMBER = "01077778888"  # gangnam-pizza's member who calls out
PIZZA_MISSED = "pizza-missed-1"  # a missed inbound call of gangnam-pizza

ACCOUNTS: dict[str, dict[str, Any]] = {
    "admin": {"email": "root@platform.kr", "role": "platform-admin"},
    "owner": {"email": "owner@pizza.kr", "role": "tenant-owner", "tenant": "gangnam-pizza"},
    "manager": {
        "email": "gangnam@pizza.kr",
        "role": "branch-manager",
        "tenant": "gangnam-pizza",
        "branch": "gangnam",
    },
    "staff": {"email": "staff@pizza.kr", "role": "staff", "tenant": "gangnam-pizza"},
    "other": {"email": "owner@pocha.kr", "role": "tenant-owner", "tenant": POCHA_TENANT},
}


class Client:
    """A signed-in browser (cookie + CSRF token) or a machine (bearer token)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token
        self.csrf: str | None = None
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self, email: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
        resp = await self.session.post(
            f"{self.base}/api/v1/session", json={"email": email, "password": password}
        )
        if resp.status == 200:
            self.csrf = (await resp.json())["csrf_token"]
        return resp

    def _headers(self, method: str, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.csrf and method != "GET":
            headers.setdefault("X-CSRF-Token", self.csrf)
        return headers

    async def call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        url = self.base + (path if path.startswith("/") else "/api/v1/" + path)
        async with self.session.request(
            method, url, json=json, headers=self._headers(method, headers)
        ) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body: Any = await resp.json() if "json" in ctype else await resp.read()
            return resp.status, body, resp

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        return await self.call("GET", path, **kw)

    async def close(self) -> None:
        await self.session.close()


@dataclass
class ApiServer:
    base: str
    pool: asyncpg.Pool
    users: dict[str, int] = field(default_factory=dict)
    clients: list[Client] = field(default_factory=list)

    def anonymous(self) -> Client:
        client = Client(self.base)
        self.clients.append(client)
        return client

    async def as_role(self, name: str) -> Client:
        client = self.anonymous()
        resp = await client.login(ACCOUNTS[name]["email"])
        assert resp.status == 200, await resp.text()
        return client

    async def with_token(self, name: str, scopes: tuple[str, ...] = ("read", "write")) -> Client:
        secret, _ = await create_token(
            self.pool, ACCOUNTS[name]["email"], f"t{len(self.clients)}", scopes
        )
        client = Client(self.base, token=secret)
        self.clients.append(client)
        return client


async def store_missed_call(pool: asyncpg.Pool) -> None:
    """A missed inbound call of gangnam-pizza (``PIZZA_MISSED``), to call back."""
    await pool.execute(
        "INSERT INTO call_records (call_id, uniqueid, linkedid, tenant_id, number, caller, "
        "start_time, end_time, disposition, asterisk_disposition) VALUES ($1, $1, $1, "
        "'gangnam-pizza', $2, '01073912468', now(), now(), 'NO_ANSWER', 'NO ANSWER')",
        PIZZA_MISSED,
        PIZZA,
    )


async def seed(pool: asyncpg.Pool) -> dict[str, int]:
    """The sample configuration, a branch of gangnam-pizza holding its first number, and
    one account per role."""
    doc = parse_document(load_yaml(SAMPLE.read_text(encoding="utf-8")), "sample")
    await load_document(pool, doc, source="sample")
    await pool.execute(
        "INSERT INTO branches (tenant_id, id, name) VALUES ('gangnam-pizza', 'gangnam', '강남점')"
    )
    await pool.execute("UPDATE virtual_numbers SET branch_id = 'gangnam' WHERE number = $1", PIZZA)
    now = datetime.now(UTC)
    await add_agent(pool, PIZZA_AGENT, "gangnam-pizza", "PJSIP/pizza-kim", now=now, name="김배달")
    ids: dict[str, int] = {}
    ids["callback"] = await register_callback(
        pool, tenant_id="gangnam-pizza", number=PIZZA, caller="010-7391-2468", source="menu"
    )
    ids["sms"] = await pool.fetchval(
        "INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient, trigger, state, "
        "kind, body, send_after, send_day) VALUES ('t:1', 'gangnam-pizza', $1, '01073912468', "
        "'missed', 'held', 'sms', '[Web발신] 강남피자입니다', now(), current_date) RETURNING id",
        PIZZA,
    )
    await pool.execute(
        "INSERT INTO sms_optouts (tenant_id, recipient) VALUES ('gangnam-pizza', '01073912468')"
    )
    # calling out: a verified caller ID, a member with minutes (store_missed_call: a record)
    await pool.execute(
        "INSERT INTO caller_ids (number, tenant_id, verified) VALUES ($1, 'gangnam-pizza', true)",
        PIZZA,
    )
    await add_member(pool, "gangnam-pizza", Member("김민수", PIZZA_MEMBER))
    await minutes.charge(pool, "gangnam-pizza", 6000, "seed")
    await minutes.allocate(pool, "gangnam-pizza", PIZZA_MEMBER, 600)
    for name, a in ACCOUNTS.items():
        user = await add_user(
            pool, a["email"], a["role"], PASSWORD, tenant=a.get("tenant"), branch=a.get("branch")
        )
        ids[name] = user.id
    return ids


@pytest.fixture
async def api(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[ApiServer]:
    """The API on a free port of 127.0.0.1."""
    users = await seed(pool)
    app = web.Application()
    app.add_subapp(MOUNT, build_api(ApiContext(pool, prompts_dir=str(tmp_path / "sounds"))))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server = ApiServer(f"http://127.0.0.1:{port}", pool, users)
    try:
        yield server
    finally:
        for c in server.clients:
            await c.close()
        await runner.cleanup()
