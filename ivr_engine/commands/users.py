"""``ivr-engine user ...`` and ``ivr-engine token ...``: console accounts and API tokens,
for bootstrap and scripts.

    echo 'a long password' | ivr-engine user add kim@acme.kr --role tenant-owner \\
        --tenant acme --password-stdin
    ivr-engine token create kim@acme.kr --name billing-sync     # prints the token once
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ivr_engine.api.credentials import (
    check_password_strength,
    hash_password,
    new_password,
    new_token,
)
from ivr_engine.app import open_database
from ivr_engine.domain.access import ROLES
from ivr_engine.errors import NotFoundError
from ivr_engine.settings import load_settings
from ivr_engine.store import accounts, audit
from ivr_engine.store.audit import Actor

CLI = Actor("cli", "cli")


def _run(args: argparse.Namespace, job: Callable[[asyncpg.Pool], Awaitable[Any]]) -> int:
    async def main() -> Any:
        async with open_database(load_settings(args.config)) as db:
            return await job(db.pool)

    result = asyncio.run(main())
    if result:
        print(result)
    return 0


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from stdin, or a generated one (then printed once)."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        check_password_strength(password)
        return password, False
    return new_password(), True


async def add_user(
    pool: asyncpg.Pool,
    email: str,
    role: str,
    password: str,
    *,
    tenant: str | None = None,
    branch: str | None = None,
    number: str | None = None,
    agent: str | None = None,
    name: str = "",
) -> accounts.User:
    """Create an account and audit it as done from the CLI."""
    async with pool.acquire() as conn, conn.transaction():
        user = await accounts.create_user(
            conn,
            email=email,
            role=role,
            password_hash=hash_password(password),
            tenant_id=tenant,
            branch_id=branch,
            number=number,
            agent_id=agent,
            display_name=name,
        )
        await audit.append(
            conn,
            CLI,
            action="user.create",
            resource="user",
            resource_id=str(user.id),
            tenant_id=user.tenant_id,
            new=user.public(),
        )
    return user


async def existing_user(conn: asyncpg.Connection, email: str) -> accounts.User:
    """The account with this e-mail; NotFoundError when there is none."""
    user = await accounts.user_by_email(conn, email)
    if user is None:
        raise NotFoundError(f"no user {email}")
    return user


async def create_token(
    pool: asyncpg.Pool, email: str, name: str, scopes: tuple[str, ...]
) -> tuple[str, accounts.ApiToken]:
    """A new token of the user ``email``: (secret, record)."""
    secret = new_token()
    async with pool.acquire() as conn, conn.transaction():
        user = await existing_user(conn, email)
        token = await accounts.create_token(conn, user.id, name, secret, scopes)
        await audit.append(
            conn,
            CLI,
            action="token.create",
            resource="token",
            resource_id=str(token.id),
            tenant_id=user.tenant_id,
            new=token.public(),
        )
    return secret, token


def _user_add(args: argparse.Namespace) -> int:
    password, generated = _password(args)

    async def job(pool: asyncpg.Pool) -> str:
        user = await add_user(
            pool,
            args.email,
            args.role,
            password,
            tenant=args.tenant,
            branch=args.branch,
            number=args.number,
            agent=args.agent,
            name=args.name or "",
        )
        line = f"user {user.id} {user.email} ({user.role}"
        line += f", tenant {user.tenant_id})" if user.tenant_id else ")"
        if generated:
            line += f"\npassword: {password}   (shown once; change it after signing in)"
        return line

    return _run(args, job)


def _user_list(args: argparse.Namespace) -> int:
    async def job(pool: asyncpg.Pool) -> str:
        async with pool.acquire() as conn:
            users = await accounts.list_users(conn, (args.tenant,) if args.tenant else None)
        lines = [
            f"{u.id:>5}  {u.email:<32} {u.role:<15} {u.tenant_id or '-':<12} "
            f"{'disabled' if u.disabled else 'active'}"
            for u in users
        ]
        return "\n".join(lines) or "no users"

    return _run(args, job)


def _user_password(args: argparse.Namespace) -> int:
    password, generated = _password(args)

    async def job(pool: asyncpg.Pool) -> str:
        async with pool.acquire() as conn, conn.transaction():
            user = await existing_user(conn, args.email)
            await accounts.update_user(
                conn, user.id, user.version, password_hash=hash_password(password)
            )
            await accounts.end_sessions_of(conn, user.id)
            await audit.append(
                conn,
                CLI,
                action="user.password",
                resource="user",
                resource_id=str(user.id),
                tenant_id=user.tenant_id,
            )
        return f"password set for {user.email}" + (f": {password}" if generated else "")

    return _run(args, job)


def _token_create(args: argparse.Namespace) -> int:
    scopes = tuple(s.strip() for s in args.scopes.split(",") if s.strip())

    async def job(pool: asyncpg.Pool) -> str:
        secret, token = await create_token(pool, args.email, args.name, scopes)
        print(
            f"token {token.id} {token.name} ({', '.join(token.scopes)}) for {args.email}",
            file=sys.stderr,
        )
        return secret

    return _run(args, job)


def _token_revoke(args: argparse.Namespace) -> int:
    async def job(pool: asyncpg.Pool) -> str:
        async with pool.acquire() as conn, conn.transaction():
            user = await existing_user(conn, args.email)
            token = await accounts.revoke_token(conn, user.id, args.id, datetime.now(UTC))
            await audit.append(
                conn,
                CLI,
                action="token.revoke",
                resource="token",
                resource_id=str(token.id),
                tenant_id=user.tenant_id,
            )
        return f"token {token.id} {token.name} revoked"

    return _run(args, job)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``user`` and ``token``."""
    u = subparsers.add_parser("user", help="console and API accounts")
    usub = u.add_subparsers(dest="user_command", required=True)
    p = usub.add_parser("add", help="create an account")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--tenant", help="the tenant (every role but platform-admin)")
    p.add_argument("--branch", help="a branch manager's branch")
    p.add_argument("--number", help="staff limited to one number (national digits)")
    p.add_argument("--agent", help="an agent account's agent id")
    p.add_argument("--name", help="display name")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (else one is generated and printed)",
    )
    p.set_defaults(func=_user_add)
    p = usub.add_parser("list", help="list accounts")
    p.add_argument("--tenant")
    p.set_defaults(func=_user_list)
    p = usub.add_parser("password", help="set an account's password (signs it out)")
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=_user_password)

    t = subparsers.add_parser("token", help="API tokens for machines")
    tsub = t.add_subparsers(dest="token_command", required=True)
    p = tsub.add_parser("create", help="create a token (printed once on stdout)")
    p.add_argument("email")
    p.add_argument("--name", required=True)
    p.add_argument("--scopes", default="read,write", help="read,write,reveal (read,write)")
    p.set_defaults(func=_token_create)
    p = tsub.add_parser("revoke", help="revoke a token")
    p.add_argument("email")
    p.add_argument("id", type=int)
    p.set_defaults(func=_token_revoke)
