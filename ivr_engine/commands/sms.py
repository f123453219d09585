"""``ivr-engine sms ...``: callback texts (list, approve, discard, resend), policies, the
opt-out list, excluded contacts, the retention purge and a standalone worker."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from ivr_engine.app import Database, open_database
from ivr_engine.commands.times import tenant_zones
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.sms_policy import parse_policy, policy_to_data
from ivr_engine.errors import ConfigError
from ivr_engine.settings import load_settings
from ivr_engine.sms import admin
from ivr_engine.sms.runtime import running_sms_worker, sms_settings_of
from ivr_engine.sms.stats import stats, utc_now


def _run(args: argparse.Namespace, job: Callable[[Database], Awaitable[int]]) -> int:
    """Open the database from the settings and run ``job`` on it."""
    settings = load_settings(args.config)

    async def main() -> int:
        async with open_database(settings) as db:
            return await job(db)

    return asyncio.run(main())


def _list(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        rows = await admin.list_texts(
            db.pool, state=args.state, number=args.number, tenant=args.tenant, limit=args.limit
        )
        zones = await tenant_zones(db.pool)  # every text has a tenant
        for r in rows:
            why = f" ({r['reason']})" if r["reason"] else ""
            when = zones.show(r["send_after"], r["tenant_id"], seconds=False)
            print(
                f"{r['id']:>8}  {r['state']:<10}{why:<20} {when} "
                f"{mask(r['number'])} -> {mask(r['recipient'])}  {r['kind'] or '-'}  "
                f"{(r['body'] or '').splitlines()[0][:30] if r['body'] else ''}"
            )
        if not rows:
            print("no texts")
        return 0

    return _run(args, job)


def _approve(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        done = await admin.approve(db.pool, args.ids)
        print(f"approved {len(done)} of {len(args.ids)}: {' '.join(map(str, done)) or '-'}")
        return 0 if len(done) == len(args.ids) else 1

    return _run(args, job)


def _discard(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        done = await admin.discard(db.pool, args.ids, args.reason)
        print(f"discarded {len(done)} of {len(args.ids)}: {' '.join(map(str, done)) or '-'}")
        return 0 if len(done) == len(args.ids) else 1

    return _run(args, job)


def _resend(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        print(f"queued as text {await admin.resend(db.pool, args.id)}")
        return 0

    return _run(args, job)


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    if bool(args.number) == bool(args.tenant):
        raise ConfigError("name exactly one of a virtual number or --tenant")
    return {"number": args.number, "tenant": args.tenant}


def _policy_show(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        own, resolved = await admin.show_policy(db.pool, **_scope(args))
        out = {
            "own": policy_to_data(own) if own else None,
            "resolved": policy_to_data(resolved) if resolved else None,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0

    return _run(args, job)


def _read_policy(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML or JSON: {exc}") from None
    if isinstance(data, dict) and set(data) == {"callback_sms"}:
        data = data["callback_sms"]
    return data


def _policy_set(args: argparse.Namespace) -> int:
    if not args.remove and not args.file:
        raise ConfigError("policy set needs --file FILE (or --remove)")
    policy = None if args.remove else parse_policy(_read_policy(args.file))
    image_dir = str(Path(args.file).resolve().parent) if args.file else "."

    async def job(db: Database) -> int:
        resolved = await admin.set_policy(db.pool, policy, image_dir=image_dir, **_scope(args))
        print(
            json.dumps(policy_to_data(resolved) if resolved else None, ensure_ascii=False, indent=2)
        )
        return 0

    return _run(args, job)


def _optout_add(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        added = await admin.add_optouts(db.pool, args.tenant, args.numbers)
        print(f"{added} added, {len(args.numbers) - added} already on the list")
        return 0

    return _run(args, job)


def _optout_list(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        zones = await tenant_zones(db.pool)  # every opt-out has a tenant
        for r in await admin.list_optouts(db.pool, args.tenant):
            when = zones.show(r["created_at"], args.tenant)
            print(f"{mask(r['recipient'])}  {r['source']}  {when}")
        return 0

    return _run(args, job)


def _exclude_add(args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        await admin.add_excluded(db.pool, args.tenant, [(n, args.name) for n in args.numbers])
        print(f"{len(args.numbers)} contact(s) excluded")
        return 0

    return _run(args, job)


def _purge(args: argparse.Namespace) -> int:
    days = args.days or sms_settings_of(load_settings(args.config)).retention_days

    async def job(db: Database) -> int:
        print(
            f"purged {await admin.purge(db.pool, utc_now() - timedelta(days=days))} "
            f"text(s) finished more than {days} days ago"
        )
        return 0

    return _run(args, job)


def _worker(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    sms = sms_settings_of(settings)

    async def job(db: Database) -> int:
        async with running_sms_worker(db.pool, db.url, sms) as worker:
            print(f"SMS worker {worker.name} sending through {sms.provider}; Ctrl-C stops")
            if args.once:
                print(f"sent {await worker.drain()} due text(s)")
                return 0
            while True:
                await asyncio.sleep(60)
                print(json.dumps(await stats(db.pool), default=str))

    return _run(args, job)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sms`` and its sub-commands."""
    sms = subparsers.add_parser("sms", help="callback texts after calls")
    sub = sms.add_subparsers(dest="sms_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("list", help="texts, newest first")
    p.add_argument(
        "--state",
        choices=["held", "queued", "sending", "sent", "failed", "suppressed", "discarded"],
    )
    p.add_argument("--number")
    p.add_argument("--tenant")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_list)
    for name, func, text in (
        ("approve", _approve, "send held texts"),
        ("discard", _discard, "discard held or queued texts"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("ids", nargs="+", type=int)
        if name == "discard":
            p.add_argument("--reason", default="discarded")
        p.set_defaults(func=func)
    p = sub.add_parser("resend", help="send a sent, failed or discarded text again")
    p.add_argument("id", type=int)
    p.set_defaults(func=_resend)
    policy = sub.add_parser("policy", help="a number's or tenant's callback_sms policy")
    psub = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    for name, func in (("show", _policy_show), ("set", _policy_set)):
        p = psub.add_parser(name)
        p.add_argument("number", nargs="?", help="virtual number (or use --tenant)")
        p.add_argument("--tenant")
        if name == "set":
            p.add_argument("--file", help="YAML or JSON with the callback_sms mapping")
            p.add_argument("--remove", action="store_true", help="remove this layer's policy")
        p.set_defaults(func=func)
    optout = sub.add_parser("optout", help="the tenant-wide opt-out list")
    osub = optout.add_subparsers(dest="optout_command", metavar="ACTION", required=True)
    p = osub.add_parser("add")
    p.add_argument("tenant")
    p.add_argument("numbers", nargs="+")
    p.set_defaults(func=_optout_add)
    p = osub.add_parser("list")
    p.add_argument("tenant")
    p.set_defaults(func=_optout_list)
    p = sub.add_parser("exclude", help="add excluded contacts (the business's phonebook)")
    p.add_argument("tenant")
    p.add_argument("numbers", nargs="+")
    p.add_argument("--name", default="")
    p.set_defaults(func=_exclude_add)
    p = sub.add_parser("purge", help="delete finished texts past the retention period")
    p.add_argument("--days", type=int)
    p.set_defaults(func=_purge)
    p = sub.add_parser("worker", help="run an SMS worker (the engine runs one itself)")
    p.add_argument("--once", action="store_true", help="send what is due now, then exit")
    p.set_defaults(func=_worker)
