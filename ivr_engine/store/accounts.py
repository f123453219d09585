"""Users, login sessions and API tokens in PostgreSQL.

Secrets never reach the database: sessions and tokens are stored as SHA-256 digests of the
random value the browser or the machine holds, passwords as argon2 hashes made by the
caller (``api/credentials.py``). Lock-out is counted here: ``record_login_failure`` adds
one and locks the account for a while after too many in a row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ivr_engine.domain.access import PLATFORM_ADMIN, ROLES, Principal
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.store.executor import Executor

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


@dataclass(frozen=True)
class User:
    """One account."""

    id: int
    email: str
    display_name: str
    role: str
    tenant_id: str | None
    branch_id: str | None
    number: str | None
    agent_id: str | None
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
    disabled: bool
    language: str
    version: int
    last_login_at: datetime | None

    def principal(self, scopes: frozenset[str] | None = None, token_name: str = "") -> Principal:
        """The user as a principal (a machine token passes its scopes)."""
        return Principal(
            user_id=self.id,
            email=self.email,
            role=self.role,
            tenant_id=self.tenant_id,
            branch_id=self.branch_id,
            number=self.number,
            agent_id=self.agent_id,
            scopes=scopes,
            token_name=token_name,
            language=self.language,
        )

    def public(self) -> dict[str, Any]:
        """What the API shows of a user (never the hash)."""
        return {
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "role": self.role,
            "tenant_id": self.tenant_id,
            "branch_id": self.branch_id,
            "number": self.number,
            "agent_id": self.agent_id,
            "disabled": self.disabled,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "language": self.language,
            "version": self.version,
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


_USER_COLUMNS = (
    "id, email, display_name, role, tenant_id, branch_id, number, agent_id, password_hash, "
    "failed_logins, locked_until, disabled, language, version, last_login_at"
)


def digest(secret: str) -> bytes:
    """The SHA-256 of a session id or token: what the database keeps."""
    return hashlib.sha256(secret.encode()).digest()


def _user(row: Any) -> User:
    return User(**dict(row))


async def create_user(
    db: Executor,
    *,
    email: str,
    role: str,
    password_hash: str,
    tenant_id: str | None = None,
    branch_id: str | None = None,
    number: str | None = None,
    agent_id: str | None = None,
    display_name: str = "",
    language: str = "ko",
) -> User:
    """Add an account; ValidationError for an impossible combination, ConflictError when
    the e-mail is taken, NotFoundError for an unknown tenant, branch, number or agent."""
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; roles: {', '.join(ROLES)}", "role")
    if (role == PLATFORM_ADMIN) != (tenant_id is None):
        raise ValidationError(
            "a platform admin has no tenant; every other role needs one", "tenant_id"
        )
    try:
        row = await db.fetchrow(
            f"INSERT INTO users (email, role, password_hash, tenant_id, branch_id, number, "
            f"agent_id, display_name, language) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            f"RETURNING {_USER_COLUMNS}",
            email.strip(),
            role,
            password_hash,
            tenant_id,
            branch_id,
            number,
            agent_id,
            display_name,
            language,
        )
    except asyncpg.UniqueViolationError:
        raise ConflictError(f"a user with e-mail {email} already exists") from None
    except asyncpg.ForeignKeyViolationError as exc:
        what = (exc.constraint_name or "").removeprefix("users_").removesuffix("_fk")
        raise NotFoundError(f"unknown {what or 'reference'} for user {email}") from None
    except asyncpg.CheckViolationError as exc:
        raise ValidationError(_check_message(exc.constraint_name or ""), "user") from None
    return _user(row)


def _check_message(constraint: str) -> str:
    return {
        "users_email_check": "not an e-mail address",
        "users_branch_check": "a branch manager needs a branch",
        "users_agent_check": "an agent account needs an agent id",
        "users_language_check": "language is ko or en",
    }.get(constraint, f"violates {constraint}")


async def user_by_email(db: Executor, email: str) -> User | None:
    """The account with this e-mail (case-insensitive), or None."""
    row = await db.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email.strip()
    )
    return _user(row) if row else None


async def user_by_id(db: Executor, user_id: int) -> User | None:
    """The account with this id, or None."""
    row = await db.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return _user(row) if row else None


async def list_users(db: Executor, tenants: tuple[str, ...] | None) -> list[User]:
    """Every account inside ``tenants`` (None: all, platform admins included)."""
    rows = await db.fetch(
        f"SELECT {_USER_COLUMNS} FROM users WHERE $1::text[] IS NULL OR tenant_id = ANY($1) "
        "ORDER BY tenant_id NULLS FIRST, email",
        list(tenants) if tenants is not None else None,
    )
    return [_user(r) for r in rows]


async def update_user(db: Executor, user_id: int, version: int, **fields: Any) -> User:
    """Change some columns of an account if its version is still ``version``
    (ConflictError otherwise)."""
    allowed = {"display_name", "role", "branch_id", "number", "agent_id", "disabled", "language"}
    allowed |= {"password_hash"}
    bad = set(fields) - allowed
    if bad:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(bad))}", "user")
    sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(fields, start=3))
    extra = ", failed_logins = 0, locked_until = NULL" if "password_hash" in fields else ""
    try:
        row = await db.fetchrow(
            f"UPDATE users SET {sets}{extra}, version = nextval('config_version_seq'), "
            f"updated_at = now() WHERE id = $1 AND version = $2 RETURNING {_USER_COLUMNS}",
            user_id,
            version,
            *fields.values(),
        )
    except asyncpg.CheckViolationError as exc:
        raise ValidationError(_check_message(exc.constraint_name or ""), "user") from None
    if row is None:
        current = await user_by_id(db, user_id)
        if current is None:
            raise NotFoundError(f"no user {user_id}")
        raise ConflictError(f"user {user_id} was changed meanwhile (version {current.version})")
    return _user(row)


async def record_login_failure(db: Executor, user_id: int, now: datetime) -> User:
    """Count a failed sign-in; the ``MAX_FAILED_LOGINS``-th in a row locks the account for
    ``LOCK_MINUTES`` minutes."""
    row = await db.fetchrow(
        f"UPDATE users SET failed_logins = failed_logins + 1, locked_until = CASE "
        f"WHEN failed_logins + 1 >= $2 THEN $3::timestamptz ELSE locked_until END "
        f"WHERE id = $1 RETURNING {_USER_COLUMNS}",
        user_id,
        MAX_FAILED_LOGINS,
        now + timedelta(minutes=LOCK_MINUTES),
    )
    return _user(row)


async def record_login_success(db: Executor, user_id: int, now: datetime) -> None:
    """Reset the failure count and note the sign-in time."""
    await db.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1",
        user_id,
        now,
    )


# -- sessions ------------------------------------------------------------------------------


async def create_session(
    db: Executor,
    user_id: int,
    secret: str,
    csrf_token: str,
    expires_at: datetime,
    address: str,
    user_agent: str,
) -> None:
    """Keep a new login session (by the digest of its secret)."""
    await db.execute(
        "INSERT INTO login_sessions (id_hash, user_id, csrf_token, expires_at, address, "
        "user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
        digest(secret),
        user_id,
        csrf_token,
        expires_at,
        address,
        user_agent[:300],
    )


async def session_user(
    db: Executor, secret: str, now: datetime, extend_to: datetime
) -> tuple[User, str] | None:
    """The user and CSRF token of a live session (its expiry slides to ``extend_to``),
    or None when unknown, expired, or the account is disabled."""
    row = await db.fetchrow(
        "UPDATE login_sessions s SET last_seen_at = $2, expires_at = greatest(expires_at, $3) "
        "FROM users u WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.id = s.user_id "
        "AND NOT u.disabled RETURNING s.user_id, s.csrf_token",
        digest(secret),
        now,
        extend_to,
    )
    if row is None:
        return None
    user = await user_by_id(db, row["user_id"])
    return (user, row["csrf_token"]) if user else None


async def end_session(db: Executor, secret: str) -> None:
    """Sign out: forget the session."""
    await db.execute("DELETE FROM login_sessions WHERE id_hash = $1", digest(secret))


async def end_sessions_of(db: Executor, user_id: int) -> None:
    """Forget every session of a user (password changed, account disabled)."""
    await db.execute("DELETE FROM login_sessions WHERE user_id = $1", user_id)


# -- API tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiToken:
    """A machine token's record (the secret itself is shown once, never stored)."""

    id: int
    user_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def public(self) -> dict[str, Any]:
        """What the API shows of a token."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


_TOKEN_COLUMNS = (
    "id, user_id, name, prefix, scopes, created_at, last_used_at, expires_at, revoked_at"
)


def _token(row: Any) -> ApiToken:
    data = dict(row)
    data["scopes"] = tuple(data["scopes"])
    return ApiToken(**data)


async def create_token(
    db: Executor,
    user_id: int,
    name: str,
    secret: str,
    scopes: tuple[str, ...] = ("read", "write"),
    expires_at: datetime | None = None,
) -> ApiToken:
    """Keep a new token of ``user_id`` (ConflictError when the name is in use)."""
    bad = set(scopes) - {"read", "write", "reveal"}
    if bad:
        raise ValidationError(f"unknown scope(s) {', '.join(sorted(bad))}", "scopes")
    try:
        row = await db.fetchrow(
            f"INSERT INTO api_tokens (user_id, name, token_hash, prefix, scopes, expires_at) "
            f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_TOKEN_COLUMNS}",
            user_id,
            name,
            digest(secret),
            secret[:12],
            list(scopes),
            expires_at,
        )
    except asyncpg.UniqueViolationError:
        raise ConflictError(f"a token named {name!r} already exists for this user") from None
    return _token(row)


async def token_user(db: Executor, secret: str, now: datetime) -> tuple[User, ApiToken] | None:
    """The user and token a bearer secret stands for, or None (unknown, revoked, expired,
    or its user disabled). Notes the use."""
    row = await db.fetchrow(
        f"UPDATE api_tokens t SET last_used_at = $2 FROM users u WHERE t.token_hash = $1 "
        f"AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) "
        f"AND u.id = t.user_id AND NOT u.disabled "
        f"RETURNING {', '.join('t.' + c.strip() for c in _TOKEN_COLUMNS.split(','))}",
        digest(secret),
        now,
    )
    if row is None:
        return None
    token = _token(row)
    user = await user_by_id(db, token.user_id)
    return (user, token) if user else None


async def list_tokens(db: Executor, user_id: int) -> list[ApiToken]:
    """The tokens of a user, newest first."""
    rows = await db.fetch(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC", user_id
    )
    return [_token(r) for r in rows]


async def revoke_token(db: Executor, user_id: int, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the user's tokens (NotFoundError when it has no such live token)."""
    row = await db.fetchrow(
        f"UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 "
        f"AND revoked_at IS NULL RETURNING {_TOKEN_COLUMNS}",
        token_id,
        user_id,
        now,
    )
    if row is None:
        raise NotFoundError(f"no live token {token_id}")
    return _token(row)
