"""Calling a customer back (``ivr-engine callback call``) through the simulator on a real
Postgres: the agent is rung first, the customer only once the agent answered and with the
virtual number as caller ID; the two are bridged; every attempt is recorded and a request is
completed only when they talked. The dialer is its own Stasis app: no engine is running."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.calls.callback_dialer import CallbackOutcome
from ivr_engine.commands import callback as commands
from ivr_engine.commands.db import read_document
from ivr_engine.errors import ConflictError
from ivr_engine.settings import AriSettings, Settings
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.sim import timeline as tl
from ivr_engine.store.callbacks import (
    CallbackStatus,
    assign_callback,
    complete_callback,
    get_callback,
    list_attempts,
    register_callback,
)
from ivr_engine.store.loader import load_document

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
CENTER = "05053001000"  # haneul-shop's contact center number in the sample configuration
CUSTOMER = "01020003000"
AGENT = "PJSIP/kim"


@pytest.fixture
async def request_id(pool: asyncpg.Pool) -> int:
    """A pending callback request left by CUSTOMER on the contact center's number."""
    await load_document(pool, read_document(SAMPLE), source=str(SAMPLE))
    return await register_callback(
        pool,
        tenant_id="haneul-shop",
        number=CENTER,
        caller="010-2000-3000",
        source="queue",
        queue="support",
    )


@pytest.fixture
def settings(settings_for_db: Settings, sim: Simulator) -> Settings:
    """The engine's settings pointing at the simulator."""
    return dataclasses.replace(settings_for_db, ari=AriSettings(url=sim.ari_url))


def sim_clock(sim: Simulator) -> Callable[[], datetime]:
    """The simulator's time, so talk seconds are simulated seconds."""
    return lambda: datetime.fromtimestamp(sim.clock.now(), UTC)


async def test_agent_then_customer_are_bridged_and_the_request_completed(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings, request_id: int
) -> None:
    sim.set_behaviour("kim", Behaviour.answer_after(1.0))
    sim.set_behaviour(CUSTOMER, Behaviour.answer_after(2.0, talk=6.0))

    result, request = await commands.call_command(
        settings, request_id, AGENT, 20, clock=sim_clock(sim)
    )

    assert result.outcome is CallbackOutcome.COMPLETED and result.ended_by == "customer"
    assert 4.5 <= result.talk_seconds <= 8.0, result.talk_seconds
    agent = sim.world.all_channels[result.agent_channel]
    customer = sim.world.all_channels[result.customer_channel]
    assert customer.caller_number == CENTER  # the customer sees the virtual number
    assert agent.caller_number == CUSTOMER  # the agent sees whom they are calling
    assert customer.endpoint_resource == CUSTOMER
    answered = [e.t_start for e in agent.timeline.entries if e.kind == tl.ANSWERED]
    assert answered and customer.timeline.entries[0].t_start >= answered[0]
    ringback = [e for e in agent.timeline.entries if e.kind == tl.RINGBACK]
    assert ringback and not ringback[0].early_media  # the agent hears the customer ringing
    bridged = [e for e in customer.timeline.entries if e.kind == tl.BRIDGED]
    assert [e.peer for e in bridged] == [agent.id]
    assert agent.gone and customer.gone and not sim.bridges  # agent released, bridge gone
    assert agent.stasis_app == customer.stasis_app is None

    assert request.status is CallbackStatus.COMPLETED and request.attempts == 1
    assert request.last_result == "completed"
    [attempt] = await list_attempts(pool, request_id)
    assert (attempt.agent, attempt.result, attempt.cause) == (AGENT, "completed", None)
    assert attempt.talk_seconds == pytest.approx(result.talk_seconds)


async def test_agent_not_answering_leaves_the_request_pending(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings, request_id: int
) -> None:
    sim.set_behaviour("kim", Behaviour.no_answer())

    result, request = await commands.call_command(
        settings, request_id, AGENT, 10, clock=sim_clock(sim)
    )

    assert (result.outcome, result.cause) == (CallbackOutcome.AGENT_NO_ANSWER, 19)
    assert result.customer_channel not in sim.world.all_channels  # never dialled
    assert sim.world.all_channels[result.agent_channel].gone
    assert request.status is CallbackStatus.OPEN
    assert (request.attempts, request.last_result) == (1, "agent_no_answer")
    [attempt] = await list_attempts(pool, request_id)
    assert (attempt.result, attempt.cause, attempt.talk_seconds) == ("agent_no_answer", 19, None)


async def test_busy_customer_is_recorded_and_the_assigned_agent_released(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings, request_id: int
) -> None:
    await assign_callback(pool, request_id, "010-5555-6666")  # an agent on an outside phone
    sim.set_behaviour("01055556666", Behaviour.answer_after(0.5))
    sim.set_behaviour(CUSTOMER, Behaviour.busy())

    result, request = await commands.call_command(
        settings, request_id, None, 10, clock=sim_clock(sim)
    )

    assert (result.outcome, result.cause) == (CallbackOutcome.CUSTOMER_BUSY, 17)
    agent = sim.world.all_channels[result.agent_channel]
    assert agent.endpoint_resource == "01055556666" and agent.dialstring == ("01055556666@carrier")
    assert agent.gone and sim.world.all_channels[result.customer_channel].gone
    assert not sim.bridges
    assert request.status is CallbackStatus.ASSIGNED
    assert (request.attempts, request.last_result) == (1, "customer_busy")
    [attempt] = await list_attempts(pool, request_id)
    assert (attempt.agent, attempt.result, attempt.cause) == (
        "PJSIP/01055556666@carrier",
        "customer_busy",
        17,
    )


async def test_agent_hanging_up_while_the_customer_rings_cancels(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings, request_id: int
) -> None:
    sim.set_behaviour("kim", Behaviour.answer_after(0.5, talk=2.0))
    sim.set_behaviour(CUSTOMER, Behaviour.no_answer())

    result, request = await commands.call_command(
        settings, request_id, AGENT, 20, clock=sim_clock(sim)
    )

    assert result.outcome is CallbackOutcome.CANCELLED
    assert sim.world.all_channels[result.customer_channel].gone  # the customer stops ringing
    assert request.status is CallbackStatus.OPEN and request.last_result == "cancelled"


async def test_a_finished_request_is_not_called(
    pool: asyncpg.Pool, sim: Simulator, settings: Settings, request_id: int
) -> None:
    await complete_callback(pool, request_id)
    with pytest.raises(ConflictError, match="already completed"):
        await commands.call_command(settings, request_id, AGENT, 10)
    assert not sim.world.all_channels
    assert (await get_callback(pool, request_id)).attempts == 0


def test_the_call_command_line() -> None:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["callback", "call", "12", "--agent", AGENT, "--ring", "20"])
    assert (args.id, args.agent, args.ring) == (12, AGENT, 20)
    defaults = parser.parse_args(["callback", "call", "12"])
    assert (defaults.agent, defaults.ring) == (None, 30)
