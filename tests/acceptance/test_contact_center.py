"""The contact center behind one 050 number, end to end through the engine's own call path:
the sample's customer center (haneul-shop, 0505-300-1000) answers, plays its menu, and a
caller who presses 2 waits in the ``support`` queue until an agent takes the call.

Agents are SIP endpoints of the simulator (``PJSIP/<agent>`` is scripted as ``<agent>``).
Several engine instances on one database share the agents: an agent is claimed in Postgres,
so no agent is ever offered two calls at once, whichever instance offers them.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import asyncpg

from ivr_engine.commands.db import read_document
from ivr_engine.domain.config_doc import resolve_all
from ivr_engine.domain.model import Prompt
from ivr_engine.domain.trace import CallTrace
from ivr_engine.prompts.names import sound_name
from ivr_engine.sim import Behaviour, SimCall
from ivr_engine.sim.timeline import MediaEvent
from ivr_engine.store import agents as agent_store

from .conftest import SAMPLE, EngineFactory, Harness

OPEN = datetime(2026, 11, 20, 12, 0)  # a Friday, open hours of the customer center
CENTER = "05053001000"
TENANT, QUEUE = "haneul-shop", "support"
KIM, LEE = "haneul-kim", "haneul-lee"
GREETING = Prompt(text="하늘쇼핑 고객센터입니다.")
WRAPUP = timedelta(seconds=10)  # the support queue's wrapup_seconds

# Agent state changes an agent may make: it is only ever rung from ready, and only talks
# after ringing.
ALLOWED_BEFORE = {"ringing": {"ready"}, "on_call": {"ringing"}}


def prompt_seconds(sounds: Path, prompt: Prompt) -> float:
    """Length of a built prompt in (simulated) seconds."""
    with wave.open(str(sounds / f"{sound_name(prompt)}.wav")) as w:
        return w.getnframes() / w.getframerate()


def menu_prompt() -> Prompt:
    """The customer center's main menu prompt as configured (generated from its labels)."""
    prompt = resolve_all(read_document(SAMPLE))[CENTER].menus[0].menu_prompt()
    assert prompt is not None
    return prompt


def key_after_menu(sounds: Path) -> float:
    """Seconds from the call's start to a moment just after the menu prompt has ended."""
    return prompt_seconds(sounds, GREETING) + prompt_seconds(sounds, menu_prompt()) + 1.0


def serve_queues(h: Harness, node: str) -> None:
    """Name the engine instance and run its queue timers (ring time, polling) at the
    simulator's clock speed, as its call clock runs."""
    h.engine.env.node = h.engine.queues.node = node
    h.engine.queues.speed = h.sim.config.speed


async def log_in(h: Harness, *agents: str) -> None:
    """Create the support queue's configured agents and log ``agents`` in."""
    config = await h.engine.env.configs.get(CENTER)
    assert config is not None and config.queues is not None
    (queue,) = [q for q in config.queues if q.id == QUEUE]
    pool, now = h.engine.db.pool, h.engine.env.clock()
    await agent_store.sync_queue_agents(pool, TENANT, queue, now=now)
    for agent in agents:
        await agent_store.login(pool, agent, now=now)


def first(timeline: Sequence[MediaEvent], kind: str, media: str = "") -> MediaEvent:
    """The first timeline entry of a kind (and media)."""
    found = [e for e in timeline if e.kind == kind and (not media or e.media == media)]
    assert found, f"no {kind} {media} in {[e.describe() for e in timeline]}"
    return found[0]


async def queue_log(pool: asyncpg.Pool, call_id: str) -> list[tuple[str, str]]:
    """A call's queue_log events as (agent, event), in order."""
    rows = await pool.fetch(
        "SELECT agent, event FROM queue_log WHERE callid = $1 ORDER BY id", call_id
    )
    return [(r["agent"], r["event"]) for r in rows]


async def test_menu_key_two_waits_in_the_queue_and_reaches_an_agent(
    call_engine: EngineFactory, built_sounds: Path
) -> None:
    """A caller hears the greeting and the menu, presses 2, holds with music while the
    only logged-in agent's phone rings, then talks to the agent; the queue's records, the
    queue_log and the call record tell the same story."""
    h = await call_engine(OPEN)
    serve_queues(h, "engine-a")
    pool = h.engine.db.pool
    await log_in(h, KIM)
    ring = 4.0
    h.sim.set_behaviour(KIM, Behaviour.answer_after(ring, talk=3.0))
    call = await h.call(CENTER, "010-2000-3000", dtmf=((key_after_menu(built_sounds), "2"),))
    trace = await h.finished(call)

    # The caller's side: greeting and menu in full, the key, music on hold while the agent's
    # phone rang, then bridged with the agent's leg until the agent hung up.
    heard = h.sim.timeline(call.channel_id)
    greeting = first(heard, "play", f"sound:{sound_name(GREETING)}")
    menu = first(heard, "play", f"sound:{sound_name(menu_prompt())}")
    key = first(heard, "dtmf_sent")
    hold = first(heard, "moh")
    bridged = first(heard, "bridged")
    assert greeting.result == menu.result == "complete"
    assert key.media == "2"
    assert menu.t_end is not None and hold.t_end is not None and bridged.t_end is not None
    assert greeting.t_start < menu.t_start < menu.t_end <= key.t_start <= hold.t_start
    assert hold.t_end <= bridged.t_start, "the music went on after the agent was connected"
    assert hold.t_end - hold.t_start >= ring - 0.01, "the caller held less than the agent rang"
    assert heard[-1].kind == "hangup"
    agent_leg = f"{call.channel_id}-q1"
    assert bridged.peer == agent_leg
    leg = h.sim.timeline(agent_leg)
    assert [e.kind for e in leg if e.kind in ("answered", "bridged")] == ["answered", "bridged"]
    assert first(leg, "bridged").peer == call.channel_id

    assert trace.outcome == "menu" and trace.tenant_id == TENANT
    assert trace.answered_target == f"PJSIP/{KIM}"
    assert trace.hangup_by == "callee"  # the agent hung up after talking

    # The queue's records.
    (stay,) = await pool.fetch("SELECT * FROM queue_calls")
    assert (
        stay["call_id"],
        stay["queue_id"],
        stay["number"],
        stay["caller"],
        stay["node"],
        stay["position"],
        stay["outcome"],
        stay["agent_id"],
    ) == (call.channel_id, QUEUE, CENTER, "01020003000", "engine-a", 1, "answered", KIM)
    assert stay["entered_at"] <= stay["answered_at"] <= stay["ended_at"]
    waited = (stay["answered_at"] - stay["entered_at"]).total_seconds()
    assert ring <= waited < ring + 5, f"waited {waited:.1f}s for an agent ringing {ring}s"
    offers = await pool.fetch("SELECT agent_id, result, ring_seconds FROM queue_offers")
    assert [(o["agent_id"], o["result"]) for o in offers] == [(KIM, "answered")]
    assert await queue_log(pool, call.channel_id) == [
        ("NONE", "ENTERQUEUE"),
        (KIM, "CONNECT"),
        (KIM, "COMPLETEAGENT"),
    ]
    states = [
        r["state"]
        for r in await pool.fetch(
            "SELECT state FROM agent_state_history WHERE agent_id = $1 ORDER BY id", KIM
        )
    ]
    assert states[:4] == ["ready", "ringing", "on_call", "wrapup"]

    # The call record.
    await h.engine.cdr.flush()
    record = await pool.fetchrow("SELECT * FROM call_records WHERE call_id = $1", call.channel_id)
    assert record is not None
    assert (
        record["disposition"],
        record["answered_target"],
        record["tenant_id"],
        record["node"],
        record["hangup_by"],
    ) == ("ANSWERED", f"PJSIP/{KIM}", TENANT, "engine-a", "callee")
    assert record["connect_time"] >= stay["answered_at"]
    assert record["billsec"] >= 2  # the agent talked 3 s


async def test_two_engines_share_the_agents_and_never_offer_one_two_calls(
    call_engine: EngineFactory, built_sounds: Path
) -> None:
    """Callers of two instances, placed at once, wait in one queue served by two shared
    agents: each agent's offers follow one another (never two at once), each call ends
    answered (or overflowed), and one agent is offered calls by both instances."""
    # Two instances, each with its own Asterisk (simulator), on one database; one clock, as
    # instances on one network share the time.
    a = await call_engine(OPEN)
    b = await call_engine(OPEN, load=False)
    b.engine.env.clock = a.engine.env.clock
    serve_queues(a, "engine-a")
    serve_queues(b, "engine-b")
    pool = a.engine.db.pool
    await log_in(a, KIM, LEE)
    # Kim talks briefly, Lee long: Lee serves one or two of the six calls, so Kim serves at
    # least four, more than either instance has callers: Kim is offered calls by both.
    for h in (a, b):
        h.sim.set_behaviour(KIM, Behaviour.answer_after(0.5, talk=1.0))
        h.sim.set_behaviour(LEE, Behaviour.answer_after(0.5, talk=40.0))
    key = ((key_after_menu(built_sounds), "2"),)
    per_engine = 3
    placed = await asyncio.gather(
        *(h.call(CENTER, f"0102000{i:04d}", dtmf=key) for i in range(per_engine) for h in (a, b))
    )
    calls: dict[str, tuple[Harness, SimCall]] = {
        c.channel_id: (h, c) for h, c in zip([a, b] * per_engine, placed, strict=True)
    }
    traces: dict[str, CallTrace] = {}
    for cid, (h, c) in calls.items():
        traces[cid] = await h.finished(c, timeout=30)
    node_of = {cid: ("engine-a" if h is a else "engine-b") for cid, (h, _) in calls.items()}

    # Every caller waited in the queue and left it with a defined outcome, recorded by the
    # instance that served it, consistent with what the caller got.
    stays = {r["call_id"]: r for r in await pool.fetch("SELECT * FROM queue_calls")}
    assert set(stays) == set(calls)
    for cid, stay in stays.items():
        trace = traces[cid]
        assert stay["node"] == node_of[cid] == trace.node
        assert stay["outcome"] in ("answered", "overflow"), (cid, stay["outcome"])
        if stay["outcome"] == "answered":
            assert trace.answered_target == f"PJSIP/{stay['agent_id']}"
            assert stay["answered_at"] is not None and stay["ended_at"] is not None
            assert [e for _, e in await queue_log(pool, cid)][:2] == ["ENTERQUEUE", "CONNECT"]
        else:
            assert trace.answered_target == "01044445555"  # the queue's overflow number

    offers = await pool.fetch("SELECT * FROM queue_offers ORDER BY id")
    assert offers and all(o["result"] is not None for o in offers)
    answered = [o for o in offers if o["result"] == "answered"]
    assert sorted((o["call_id"], o["agent_id"]) for o in answered) == sorted(
        (cid, s["agent_id"]) for cid, s in stays.items() if s["outcome"] == "answered"
    )

    for agent in (KIM, LEE):
        mine = [o for o in offers if o["agent_id"] == agent]
        # The agent's state history: rung only when ready, talking only after ringing; one
        # ringing period per offer, starting when the offer was made.
        history = await pool.fetch(
            "SELECT state, started_at, ended_at FROM agent_state_history"
            " WHERE agent_id = $1 ORDER BY id",
            agent,
        )
        for before, row in pairwise(history):
            allowed = ALLOWED_BEFORE.get(row["state"])
            assert allowed is None or before["state"] in allowed, (
                f"{agent}: {before['state']} -> {row['state']} at {row['started_at']}"
            )
        ringing = [r for r in history if r["state"] == "ringing"]
        assert [r["started_at"] for r in ringing] == [o["offered_at"] for o in mine]
        # From the queue's records: each offer keeps the agent from when it was made to the
        # end of its call (answered) or of the ringing (not answered); these never overlap,
        # whichever instance made them.
        busy = sorted(
            (
                o["offered_at"],
                stays[o["call_id"]]["ended_at"]
                if o["result"] == "answered"
                else o["offered_at"] + timedelta(seconds=float(o["ring_seconds"] or 0)),
                o["call_id"],
                o["result"],
            )
            for o in mine
        )
        for (_, end, one, result), (start, _, other, _) in pairwise(busy):
            assert start >= end, (
                f"{agent} was offered {node_of[other]}'s call {other} at {start} while busy"
                f" with {node_of[one]}'s call {one} until {end}"
            )
            # After a call the agent wraps up before the next offer (the offer's time is
            # read just before the instance sees the agent ready again: a little slack).
            assert result != "answered" or start - end >= WRAPUP / 2, (agent, one, other)

    kim = [o["call_id"] for o in answered if o["agent_id"] == KIM]
    assert len(kim) >= per_engine + 1, f"Kim served {len(kim)} of {len(calls)} calls"
    assert {node_of[cid] for cid in kim} == {"engine-a", "engine-b"}
