"""Agents in Postgres: who they are, which queues they serve, their state and its history.

Every state change goes through the ``agent_transition`` SQL function (agent row and state
history in one step) inside a transaction that has locked the agent row. Offering a call
claims agents with ``FOR UPDATE SKIP LOCKED`` and moves them to ``ringing`` in the same
transaction, so however many engine instances share the agents, none is ever offered two
calls at once. Times come from the caller (the engine's clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ivr_engine.domain.acd import (
    AUTO_PAUSE_REASON,
    AfterCallPlan,
    AgentState,
    Candidate,
    after_missed,
)
from ivr_engine.domain.queue_doc import QueueConfig
from ivr_engine.domain.queue_state import ClaimedAgent, QueueView
from ivr_engine.errors import ConflictError, NotFoundError, ValidationError
from ivr_engine.store.queries import queries

LOGGED_IN_STATES = ("ready", "rest", "ringing", "on_call", "wrapup")


async def _transition(
    conn: asyncpg.Connection,
    agent: str,
    state: AgentState | str,
    reason: str,
    now: datetime,
    *,
    call: str | None = None,
    node: str | None = None,
    until: datetime | None = None,
    then: str | None = None,
) -> None:
    await conn.execute(
        queries()["agent_transition"], agent, str(state), reason, now, call, node, until, then
    )


async def _lock(conn: asyncpg.Connection, agent: str) -> asyncpg.Record:
    row = await conn.fetchrow(queries()["agent_lock"], agent)
    if row is None:
        raise NotFoundError(f"no agent {agent!r}")
    return row


async def add_agent(
    pool: asyncpg.Pool,
    agent_id: str,
    tenant_id: str,
    endpoint: str,
    *,
    now: datetime,
    name: str = "",
    ring_seconds: int | None = None,
    login_state: str = "ready",
) -> None:
    """Create (or update) an agent of a tenant; it starts offline."""
    if login_state not in ("ready", "rest"):
        raise ValidationError(f"state after log-in must be ready or rest, not {login_state!r}")
    try:
        row = await pool.fetchrow(
            queries()["agent_upsert"],
            agent_id,
            tenant_id,
            name,
            endpoint,
            ring_seconds,
            login_state,
            now,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFoundError(f"no tenant {tenant_id!r}") from exc
    if row is None:
        raise ConflictError(f"agent {agent_id!r} belongs to another tenant")


async def add_member(
    pool: asyncpg.Pool,
    tenant_id: str,
    queue_id: str,
    agent_id: str,
    *,
    priority: int = 0,
    weight: int = 1,
    source: str = "cli",
) -> None:
    """Assign an agent to a queue with a priority (lower first) and a weight."""
    try:
        await pool.execute(
            queries()["member_upsert"], tenant_id, queue_id, agent_id, priority, weight, source
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFoundError(f"no agent {agent_id!r} or tenant {tenant_id!r}") from exc


async def sync_queue_agents(
    pool: asyncpg.Pool, tenant_id: str, queue: QueueConfig, *, now: datetime
) -> None:
    """Make the agents a queue's configuration lists exist and be its members (members
    added with the CLI are kept; configured ones no longer listed are dropped)."""
    for agent in queue.agents:
        await add_agent(
            pool,
            agent.id,
            tenant_id,
            agent.endpoint,
            now=now,
            name=agent.name,
            ring_seconds=agent.ring_seconds,
        )
        await add_member(
            pool,
            tenant_id,
            queue.id,
            agent.id,
            priority=agent.priority,
            weight=agent.weight,
            source="config",
        )
    await pool.execute(
        queries()["members_prune_config"], tenant_id, queue.id, [a.id for a in queue.agents]
    )


async def login(pool: asyncpg.Pool, agent_id: str, *, now: datetime) -> AgentState:
    """Log an agent in (its configured state after log-in); returns the state."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _lock(conn, agent_id)
        if row["state"] != AgentState.OFFLINE:
            return AgentState(row["state"])
        await conn.execute(queries()["session_open"], agent_id, now)
        await conn.execute(queries()["agent_set_missed"], agent_id, 0)
        await _transition(conn, agent_id, row["login_state"], "login", now)
        return AgentState(row["login_state"])


async def logout(pool: asyncpg.Pool, agent_id: str, *, now: datetime) -> None:
    """Log an agent out (offline); a call being offered to it is not affected."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _lock(conn, agent_id)
        if row["state"] == AgentState.OFFLINE:
            return
        await conn.execute(queries()["session_close"], agent_id, now)
        await _transition(conn, agent_id, AgentState.OFFLINE, "logout", now)


async def set_state(
    pool: asyncpg.Pool,
    agent_id: str,
    state: AgentState,
    *,
    now: datetime,
    reason: str = "",
    wrapup_until: datetime | None = None,
) -> None:
    """Ready, rest (with a reason) or after-call work (until a time, or until ready) for a
    logged-in agent that is not ringing or on a call."""
    if state not in (AgentState.READY, AgentState.REST, AgentState.WRAPUP):
        raise ValidationError(f"an agent cannot be put in state {state.value!r} directly")
    async with pool.acquire() as conn, conn.transaction():
        row = await _lock(conn, agent_id)
        if row["state"] == AgentState.OFFLINE:
            raise ConflictError(f"agent {agent_id!r} is not logged in")
        if row["state"] in (AgentState.RINGING, AgentState.ON_CALL):
            raise ConflictError(f"agent {agent_id!r} is {row['state']}; try after the call")
        if state is AgentState.READY:
            await conn.execute(queries()["agent_set_missed"], agent_id, 0)
        await _transition(conn, agent_id, state, reason, now, until=wrapup_until, then="ready")


async def queue_view(
    pool: asyncpg.Pool, tenant_id: str, queue_id: str, caller: str, *, period_start: datetime
) -> QueueView:
    """Ready candidates of a queue with their statistics, counts and memories."""
    q = queries()
    async with pool.acquire() as conn:
        rows = await conn.fetch(q["queue_candidates"], tenant_id, queue_id, period_start)
        counts = await conn.fetchrow(q["queue_agent_counts"], tenant_id, queue_id)
        last = await conn.fetchval(q["queue_last_agent"], tenant_id, queue_id)
        sticky = await conn.fetchval(q["sticky_agent"], tenant_id, caller) if caller else None
    candidates = tuple(
        Candidate(
            r["id"],
            r["priority"],
            r["weight"],
            None if r["last_call_end"] is None else r["last_call_end"].timestamp(),
            r["taken"],
            r["offered"],
        )
        for r in rows
    )
    return QueueView(candidates, counts["logged_in"], counts["ready"], last, sticky)


async def claim(
    pool: asyncpg.Pool,
    agent_ids: Sequence[str],
    *,
    call_id: str,
    tenant_id: str,
    queue_id: str,
    node: str,
    now: datetime,
    limit: int = 1,
) -> list[ClaimedAgent]:
    """Claim up to ``limit`` of the agents (tried in the given order) for a call: each is
    moved to ``ringing`` and an offer is recorded. Never returns an agent that is ringing
    or on a call for another call, whichever engine made that offer."""
    if not agent_ids or limit <= 0:
        return []
    q = queries()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(q["claim_agents"], list(agent_ids), limit)
        claimed = []
        for r in rows:
            await _transition(conn, r["id"], AgentState.RINGING, "", now, call=call_id, node=node)
            offer = await conn.fetchval(
                q["offer_insert"], call_id, tenant_id, queue_id, r["id"], now
            )
            claimed.append(ClaimedAgent(r["id"], r["endpoint"], r["ring_seconds"], offer))
        if claimed:
            await conn.execute(q["queue_remember"], tenant_id, queue_id, claimed[-1].id)
        return claimed


async def offer_failed(
    pool: asyncpg.Pool,
    agent: ClaimedAgent,
    *,
    call_id: str,
    result: str,
    ring_seconds: float,
    auto_pause_after: int,
    now: datetime,
) -> bool:
    """An offer ended without the agent taking the call. ``cancelled`` (the caller left,
    or another agent answered first) puts the agent back to ready; any other result is a
    miss, counted towards the auto-pause. Returns True when the agent was auto-paused."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            queries()["offer_result"], agent.offer_id, result, round(ring_seconds, 3)
        )
        row = await _lock(conn, agent.id)
        if row["offer_call"] != call_id or row["state"] != AgentState.RINGING:
            return False  # logged out (or moved on) meanwhile: leave its state alone
        if result == "cancelled":
            await _transition(conn, agent.id, AgentState.READY, "", now)
            return False
        miss = after_missed(row["missed_in_row"], auto_pause_after)
        await conn.execute(queries()["agent_set_missed"], agent.id, miss.missed_in_row)
        if miss.pause:
            await _transition(
                conn,
                agent.id,
                AgentState.REST,
                f"{AUTO_PAUSE_REASON}: {miss.missed_in_row} missed calls",
                now,
            )
        else:
            await _transition(conn, agent.id, AgentState.READY, "", now)
        return miss.pause


async def call_answered(
    pool: asyncpg.Pool, agent: ClaimedAgent, *, call_id: str, ring_seconds: float, now: datetime
) -> None:
    """The agent took the call: on a call, missed-in-a-row back to zero."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            queries()["offer_result"], agent.offer_id, "answered", round(ring_seconds, 3)
        )
        await _lock(conn, agent.id)
        await conn.execute(queries()["agent_set_missed"], agent.id, 0)
        await _transition(conn, agent.id, AgentState.ON_CALL, "", now, call=call_id)


async def call_ended(
    pool: asyncpg.Pool, agent_id: str, *, call_id: str, plan: AfterCallPlan, now: datetime
) -> AgentState | None:
    """The agent's call ended: after-call work (then the planned state) or straight to the
    planned state. Returns the new state (None when the agent had moved on, e.g. logged
    out during the call)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _lock(conn, agent_id)
        await conn.execute(queries()["agent_call_ended"], agent_id, now)
        if row["offer_call"] != call_id:
            return None
        until = None
        if plan.state is AgentState.WRAPUP:
            until = now + timedelta(seconds=plan.wrapup_seconds)
        await _transition(conn, agent_id, plan.state, "", now, until=until, then=plan.then.value)
        return plan.state


async def release_wrapups(pool: asyncpg.Pool, *, now: datetime) -> list[str]:
    """End every after-call work whose time is up; returns the agents released."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(queries()["wrapups_due"], now)
        for r in rows:
            await _transition(conn, r["id"], r["after_wrapup"] or "ready", "", now)
        return [r["id"] for r in rows]


async def set_reachable(
    pool: asyncpg.Pool, endpoint: str, reachable: bool, device_state: str
) -> list[str]:
    """Record an endpoint's device state; returns the agents using that endpoint."""
    rows = await pool.fetch(queries()["agents_set_reachable"], endpoint, reachable, device_state)
    return [r["id"] for r in rows]


async def sip_endpoints(pool: asyncpg.Pool) -> list[str]:
    """Every SIP endpoint an agent uses."""
    return [r["endpoint"] for r in await pool.fetch(queries()["agent_endpoints"])]


async def add_note(
    pool: asyncpg.Pool,
    agent_id: str,
    call_type: str,
    notes: str,
    *,
    now: datetime,
    call_id: str | None = None,
) -> int:
    """Record the call type and notes (up to 1024 characters) of an agent's call (its last
    answered call when ``call_id`` is not given)."""
    if not call_type.strip() or len(call_type) > 64:
        raise ValidationError("a call type is 1 to 64 characters")
    if len(notes) > 1024:
        raise ValidationError(f"notes are at most 1024 characters, got {len(notes)}")
    queue_id = None
    if call_id is None:
        last = await pool.fetchrow(queries()["last_call_of_agent"], agent_id)
        if last is not None:
            call_id, queue_id = last["call_id"], last["queue_id"]
    try:
        return int(
            await pool.fetchval(
                queries()["note_insert"], agent_id, call_id, queue_id, call_type, notes, now
            )
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFoundError(f"no agent {agent_id!r}") from exc


async def list_agents(pool: asyncpg.Pool, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """Every agent (of one tenant) with its state, reachability and queues."""
    return [dict(r) for r in await pool.fetch(queries()["agents_list"], tenant_id)]


async def sessions(pool: asyncpg.Pool, agent_id: str) -> list[tuple[datetime, datetime | None]]:
    """An agent's log-in / log-out history, oldest first."""
    rows = await pool.fetch(queries()["sessions_of"], agent_id)
    return [(r["login_at"], r["logout_at"]) for r in rows]
