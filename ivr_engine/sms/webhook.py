"""Delivery reports from the gateway: ``POST /sms/reports`` updates the texts' states.

The body is one report or a list of them::

    {"key": "cb:1700000000.12", "status": "delivered"}
    [{"message_id": "gw-881", "status": "failed", "error": "unknown subscriber"}, ...]

``key`` (or ``idempotency_key``) names the text by the key the engine sent; otherwise
``message_id`` by the gateway's id. Status ``delivered`` (also ``success``, ``ok``) records
the delivery; ``failed`` (also ``undeliverable``, ``rejected``, ``expired``) marks a sent
text failed with reason ``delivery_failed``. When a token is configured, the request must
carry it in ``X-Webhook-Token``. The answer counts what was applied::

    {"updated": 1, "unknown": 0}
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from ivr_engine.sms.stats import COUNTERS, SmsCounters, utc_now
from ivr_engine.store.queries import queries

log = logging.getLogger(__name__)

PATH = "/sms/reports"
TOKEN_HEADER = "X-Webhook-Token"
DELIVERED = frozenset({"delivered", "success", "ok", "sent"})
FAILED = frozenset({"failed", "undeliverable", "rejected", "expired", "error"})


class ReportError(ValueError):
    """A delivery report that cannot be read."""


def parse_reports(data: Any) -> list[tuple[str | None, str | None, str, str | None]]:
    """Reports as (key, message id, delivered|failed, error); ReportError when malformed."""
    items = data if isinstance(data, list) else [data]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReportError(f"report {i}: expected a JSON object")
        key = item.get("key") or item.get("idempotency_key")
        message_id = item.get("message_id")
        if not key and not message_id:
            raise ReportError(f"report {i}: needs key or message_id")
        status = str(item.get("status", "")).strip().lower()
        if status in DELIVERED:
            status = "delivered"
        elif status in FAILED:
            status = "failed"
        else:
            raise ReportError(f"report {i}: unknown status {item.get('status')!r}")
        error = item.get("error")
        out.append(
            (
                str(key) if key else None,
                str(message_id) if message_id else None,
                status,
                str(error) if error is not None else None,
            )
        )
    return out


async def apply_reports(
    db: asyncpg.Pool | asyncpg.Connection,
    reports: list[tuple[str | None, str | None, str, str | None]],
    when: datetime,
    counters: SmsCounters = COUNTERS,
) -> tuple[int, int]:
    """Apply delivery reports; returns (updated, unknown)."""
    updated = unknown = 0
    for key, message_id, status, error in reports:
        row = await db.fetchrow(
            queries()["sms_delivery_report"], key, message_id, status, error, when
        )
        if row is None:
            unknown += 1
            continue
        updated += 1
        if status == "failed" and row["state"] == "failed":
            counters.failed["delivery_failed"] += 1
    return updated, unknown


def webhook_routes(
    pool: asyncpg.Pool,
    *,
    token: str = "",
    clock: Callable[[], datetime] = utc_now,
    path: str = PATH,
) -> list[web.RouteDef]:
    """The aiohttp routes that receive delivery reports (to mount on the engine's server)."""

    async def reports(request: web.Request) -> web.Response:
        given = request.headers.get(TOKEN_HEADER, "")
        if token and not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response({"error": "bad or missing webhook token"}, status=401)
        try:
            parsed = parse_reports(json.loads(await request.text()))
        except (ValueError, UnicodeDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        updated, unknown = await apply_reports(pool, parsed, clock())
        if unknown:
            log.info("%d delivery report(s) for unknown texts", unknown)
        return web.json_response({"updated": updated, "unknown": unknown})

    return [web.post(path, reports)]
