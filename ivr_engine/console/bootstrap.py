"""The first account: when no platform admin exists yet, ``run`` / ``serve`` create
``admin@localhost`` with a generated password and print it once, so the console can be
signed in to on a fresh install.

    password = await ensure_first_admin(pool)    # None when a platform admin exists
"""

from __future__ import annotations

import asyncpg

from ivr_engine.api.credentials import hash_password, new_password
from ivr_engine.domain.access import PLATFORM_ADMIN
from ivr_engine.store import accounts, audit
from ivr_engine.store.audit import Actor

FIRST_ADMIN = "admin@localhost"
_LOCK = 0x1_7E_0002  # transaction advisory lock: two engines starting at once make one


async def ensure_first_admin(pool: asyncpg.Pool, email: str = FIRST_ADMIN) -> str | None:
    """Create the first platform admin and return its password, or None when there is
    already one (nothing is changed then)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        exists = await conn.fetchval("SELECT 1 FROM users WHERE role = $1 LIMIT 1", PLATFORM_ADMIN)
        if exists or await accounts.user_by_email(conn, email) is not None:
            return None
        password = new_password()
        user = await accounts.create_user(
            conn,
            email=email,
            role=PLATFORM_ADMIN,
            password_hash=hash_password(password),
            display_name="first admin",
        )
        await audit.append(
            conn,
            Actor("engine", "engine"),
            action="user.create",
            resource="user",
            resource_id=str(user.id),
            new=user.public(),
            detail={"reason": "first platform admin of a new install"},
        )
    return password


def console_lines(base_url: str, password: str | None, email: str = FIRST_ADMIN) -> list[str]:
    """What ``run`` / ``serve`` print about the console."""
    lines = [
        f"operator console: {base_url}/ (API: {base_url}/api/v1/, {base_url}/api/openapi.json)"
    ]
    if password is not None:
        lines += [
            f"first admin created: sign in as {email} with password {password}",
            f"  (shown once; change it with: ivr-engine user password {email} --password-stdin)",
        ]
    return lines
