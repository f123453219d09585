"""Delivery reports over real HTTP: the webhook routes on a loopback aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from ivr_engine.sms.webhook import PATH, TOKEN_HEADER, webhook_routes
from ivr_engine.store.queries import queries

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
async def server(pool: asyncpg.Pool) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(webhook_routes(pool, token="s3cret", clock=lambda: WHEN))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}{PATH}"
    await runner.cleanup()


async def add(pool: asyncpg.Pool, key: str, state: str, message_id: str | None = None) -> None:
    await pool.execute(
        """INSERT INTO sms_outbox (idempotency_key, tenant_id, number, recipient,
        trigger, state, kind, body, send_after, send_day, provider_message_id, lease_until)
        VALUES ($1, 't', '05051234567', '01020003000', 'no_answer', $2, 'sms', 'x', now(),
        current_date, $3, now())""",
        key,
        state,
        message_id,
    )


async def post(url: str, body: object, token: str = "s3cret") -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={TOKEN_HEADER: token}) as resp,
    ):
        return resp.status, await resp.json()


async def test_reports_update_states(pool: asyncpg.Pool, server: str) -> None:
    await add(pool, "cb:1", "sent", "gw-1")
    await add(pool, "cb:2", "sent")
    status, body = await post(
        server,
        [
            {"message_id": "gw-1", "status": "DELIVERED"},
            {"key": "cb:2", "status": "undeliverable", "error": "unknown subscriber"},
            {"key": "cb:404", "status": "delivered"},
        ],
    )
    assert (status, body) == (200, {"updated": 2, "unknown": 1})
    rows = await pool.fetch("""SELECT state, reason, delivery_status, delivered_at, last_error
        FROM sms_outbox ORDER BY id""")
    assert (rows[0]["state"], rows[0]["delivery_status"], rows[0]["delivered_at"]) == (
        "sent",
        "delivered",
        WHEN,
    )
    assert (rows[1]["state"], rows[1]["reason"], rows[1]["last_error"]) == (
        "failed",
        "delivery_failed",
        "unknown subscriber",
    )


async def test_a_failure_reported_before_the_send_is_recorded_wins(
    pool: asyncpg.Pool, server: str
) -> None:
    await add(pool, "cb:1", "sending")
    await pool.execute("UPDATE sms_outbox SET worker = 'w', attempts = 1")
    assert (await post(server, {"key": "cb:1", "status": "failed"}))[1]["updated"] == 1
    await pool.execute(
        queries()["sms_complete"], "w", WHEN, [1], [1], ["sent"], [None], [None], ["gw-1"], [None]
    )
    row = await pool.fetchrow("SELECT state, reason FROM sms_outbox")
    assert (row["state"], row["reason"]) == ("failed", "delivery_failed")


@pytest.mark.parametrize(
    ("body", "token", "status"),
    [
        ({"key": "cb:1", "status": "delivered"}, "wrong", 401),
        ({"key": "cb:1", "status": "maybe"}, "s3cret", 400),
        ({"status": "delivered"}, "s3cret", 400),
        (["not an object"], "s3cret", 400),
    ],
)
async def test_bad_reports_are_refused(server: str, body: object, token: str, status: int) -> None:
    assert (await post(server, body, token))[0] == status
