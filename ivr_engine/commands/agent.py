"""``ivr-engine agent ...`` (agents and their states) and ``ivr-engine queue stats|log``."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import asyncpg

from ivr_engine.app import open_database
from ivr_engine.commands.times import read_time, show_time, tenant_zones
from ivr_engine.domain.acd import AgentState
from ivr_engine.domain.numbers import normalize
from ivr_engine.domain.queue_doc import QueueConfig, ServiceLevelMode, find_queue, parse_endpoint
from ivr_engine.settings import load_settings
from ivr_engine.store import agents as store
from ivr_engine.store import queue_stats as stats
from ivr_engine.store.config_repo import fetch_number_config


def _now() -> datetime:
    return datetime.now(UTC)


def _when(text: str | None, default: datetime, tz: tzinfo) -> datetime:
    """A ``--from`` / ``--to`` time: without an offset, in the tenant's zone."""
    return read_time(text, tz) if text else default


def _run(args: argparse.Namespace, job: Callable[[asyncpg.Pool], Awaitable[Any]]) -> int:
    async def main() -> Any:
        async with open_database(load_settings(args.config)) as db:
            return await job(db.pool)

    result = asyncio.run(main())
    if result is not None:
        print(result)
    return 0


async def _add(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    endpoint = parse_endpoint(a.endpoint)
    await store.add_agent(
        pool,
        a.agent,
        a.tenant,
        endpoint,
        now=_now(),
        name=a.name,
        ring_seconds=a.ring_seconds,
        login_state=a.login_state,
    )
    for spec in a.queue or ():
        queue, _, priority = spec.partition(":")
        await store.add_member(
            pool, a.tenant, queue, a.agent, priority=int(priority or 0), weight=a.weight
        )
    return f"agent {a.agent} ({endpoint}) saved"


async def _state(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    now = _now()
    if a.cmd == "login":
        return f"{a.agent}: {(await store.login(pool, a.agent, now=now)).value}"
    if a.cmd == "logout":
        await store.logout(pool, a.agent, now=now)
        return f"{a.agent}: offline"
    if a.cmd == "wrapup":
        until = None if a.seconds is None else now + timedelta(seconds=a.seconds)
        await store.set_state(pool, a.agent, AgentState.WRAPUP, now=now, wrapup_until=until)
        return f"{a.agent}: wrapup"
    state = AgentState.READY if a.cmd == "ready" else AgentState.REST
    await store.set_state(pool, a.agent, state, now=now, reason=getattr(a, "reason", "") or "")
    return f"{a.agent}: {state.value}"


async def _note(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    note = await store.add_note(pool, a.agent, a.type, a.text or "", now=_now(), call_id=a.call)
    return f"note {note} recorded"


async def _list(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    rows = await store.list_agents(pool, a.tenant)
    if a.json:
        zones = await tenant_zones(pool)
        shown = [
            {
                k: zones.show(v, r["tenant_id"]) if isinstance(v, datetime) else v
                for k, v in r.items()
            }
            for r in rows
        ]
        return json.dumps(shown, default=str, ensure_ascii=False, indent=2)
    lines = [f"{'agent':<12} {'tenant':<16} {'state':<8} {'reason':<20} {'endpoint':<16} queues"]
    for r in rows:
        state = r["state"] + ("" if r["reachable"] else "!")
        lines.append(
            f"{r['id']:<12} {r['tenant_id']:<16} {state:<8} {r['reason'][:20]:<20} "
            f"{r['endpoint']:<16} {r['queues']}"
        )
    return "\n".join(lines)


async def _period(pool: asyncpg.Pool, a: argparse.Namespace) -> tuple[datetime, datetime, tzinfo]:
    """The period asked for (default: the day up to now) and the zone its times are read and
    shown in: the tenant's (with no tenant given, the default)."""
    zones = await tenant_zones(pool)
    tz = zones.of(getattr(a, "tenant", None))
    end = _when(a.to, _now(), tz)
    return _when(getattr(a, "from"), end - timedelta(days=1), tz), end, tz


async def _agent_stats(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    start, end, _ = await _period(pool, a)
    reports = await stats.agent_report(pool, a.tenant, start=start, end=end)
    types = await stats.call_types(pool, a.tenant, start=start, end=end)
    out = [f"{'agent':<12} offered answered missed   talk_s  acw_s  states"]
    for r in reports:
        states = ", ".join(f"{k} {v:.0f}s" for k, v in sorted(r.states.items()))
        out.append(
            f"{r.agent_id:<12} {r.offered:>7} {r.answered:>8} {r.missed:>6} "
            f"{r.talk_seconds:>8.0f} {r.after_call_seconds:>6.0f}  {states}"
        )
    out.append("call types: " + (", ".join(f"{t} {n}" for t, n in types) or "none"))
    return "\n".join(out)


async def _queue_config(pool: asyncpg.Pool, a: argparse.Namespace) -> QueueConfig:
    config = await fetch_number_config(pool, normalize(a.number)) if a.number else None
    found = find_queue(getattr(config, "queues", None), a.queue) if config else None
    return found or QueueConfig(
        a.queue,
        service_level_seconds=a.threshold,
        service_level=ServiceLevelMode(a.mode),
        short_abandon_seconds=a.short_abandon,
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


async def _queue_stats(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    await stats.require_queue(pool, a.tenant, a.queue)
    start, end, tz = await _period(pool, a)
    queue = await _queue_config(pool, a)
    s = await stats.queue_report(pool, a.tenant, queue, start=start, end=end)
    wait = "-" if s.avg_wait is None else f"{s.avg_wait:.1f}s"
    talk = "-" if s.avg_talk is None else f"{s.avg_talk:.1f}s"
    return (
        f"queue {queue.id} ({show_time(start, tz)} .. {show_time(end, tz)})\n"
        f"offered {s.offered}  answered {s.answered}  abandoned {s.abandoned} "
        f"(+{s.short_abandoned} short)  overflow {s.overflowed}  callback {s.callbacks}\n"
        f"answer rate {_pct(s.answer_rate)}  service level {_pct(s.service_level)} "
        f"within {queue.service_level_seconds}s ({queue.service_level.value})\n"
        f"average wait {wait}  longest wait {s.max_wait:.1f}s  average talk {talk}"
    )


async def _queue_log(pool: asyncpg.Pool, a: argparse.Namespace) -> str:
    start, end, _ = await _period(pool, a)
    lines = await stats.log_lines(pool, start=start, end=end, tenant_id=a.tenant, queue=a.queue)
    return "\n".join(lines)


def _period_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", help="start (ISO time, the tenant's zone unless given; default: a day before)"
    )
    p.add_argument("--to", help="end (ISO time, the tenant's zone unless given; default: now)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``agent`` and ``queue``."""
    agent = subparsers.add_parser("agent", help="queue agents: add, log in/out, states, notes")
    sub = agent.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("add", help="create or update an agent")
    p.add_argument("agent")
    p.add_argument("--tenant", required=True)
    p.add_argument("--endpoint", required=True, help="PJSIP/<name> or a phone number")
    p.add_argument("--name", default="")
    p.add_argument("--queue", action="append", help="QUEUE[:PRIORITY]; repeatable")
    p.add_argument("--weight", type=int, default=1)
    p.add_argument("--ring-seconds", type=int)
    p.add_argument("--login-state", default="ready", choices=("ready", "rest"))
    p.set_defaults(func=lambda a: _run(a, lambda pool: _add(pool, a)))
    for name in ("login", "logout", "ready", "rest", "wrapup"):
        p = sub.add_parser(name, help=f"put an agent in state {name}")
        p.add_argument("agent")
        if name == "rest":
            p.add_argument("--reason", default="", help="e.g. break, meeting, training")
        if name == "wrapup":
            p.add_argument(
                "--seconds", type=int, help="after-call work length (default: until 'agent ready')"
            )
        p.set_defaults(func=lambda a: _run(a, lambda pool: _state(pool, a)))
    p = sub.add_parser("note", help="record a call type and notes for an agent's call")
    p.add_argument("agent")
    p.add_argument("--type", required=True)
    p.add_argument("--text", default="", help="notes, up to 1024 characters")
    p.add_argument("--call", help="call id (default: the agent's last call)")
    p.set_defaults(func=lambda a: _run(a, lambda pool: _note(pool, a)))
    p = sub.add_parser("list", help="agents with state, reachability and queues")
    p.add_argument("--tenant")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda a: _run(a, lambda pool: _list(pool, a)))
    p = sub.add_parser("stats", help="per agent: offered, answered, missed, talk, states")
    p.add_argument("--tenant", required=True)
    _period_args(p)
    p.set_defaults(func=lambda a: _run(a, lambda pool: _agent_stats(pool, a)))

    queue = subparsers.add_parser("queue", help="queue statistics and the queue_log")
    qsub = queue.add_subparsers(dest="cmd", required=True)
    p = qsub.add_parser("stats", help="offered, answered, abandoned, service level ...")
    p.add_argument("queue")
    p.add_argument("--tenant", required=True)
    p.add_argument("--number", help="a number of the tenant whose config defines the queue")
    p.add_argument("--threshold", type=int, default=20, help="service level seconds")
    p.add_argument("--mode", default="answered", choices=[m.value for m in ServiceLevelMode])
    p.add_argument("--short-abandon", type=int, default=5)
    _period_args(p)
    p.set_defaults(func=lambda a: _run(a, lambda pool: _queue_stats(pool, a)))
    p = qsub.add_parser("log", help="the queue_log in Asterisk's format")
    p.add_argument("--tenant")
    p.add_argument("--queue")
    _period_args(p)
    p.set_defaults(func=lambda a: _run(a, lambda pool: _queue_log(pool, a)))
