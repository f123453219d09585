"""What every API and console handler shares: the pool, the settings, the clock.

ctx = ApiContext(pool, settings)
app[CONTEXT_KEY] = ctx
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from ivr_engine.domain.access import Principal
from ivr_engine.store.audit import Actor


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class ApiContext:
    """Shared state of the admin API and the console."""

    pool: asyncpg.Pool
    timezone: str = "Asia/Seoul"
    clock: Callable[[], datetime] = utc_now
    session_hours: float = 12.0
    secure_cookies: bool = False  # set behind HTTPS
    prompts_dir: str = ""
    voice: str = "ko"
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        """The platform's default zone (a tenant's own zone wins where there is one)."""
        return ZoneInfo(self.timezone)


def actor_of(principal: Principal, address: str) -> Actor:
    """The audit log's view of a principal."""
    return Actor(principal.actor, principal.via, principal.user_id, address)


CONTEXT_KEY = web.AppKey("api_context", ApiContext)
PRINCIPAL_KEY = web.RequestKey("ivr_principal", Principal)  # the authenticated principal
SESSION_KEY = web.RequestKey("ivr_session_csrf", str)  # the CSRF token of a cookie session
