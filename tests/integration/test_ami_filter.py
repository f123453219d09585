"""The engine's AMI session asks the simulated Asterisk only for the events it handles."""

from __future__ import annotations

import asyncio
import logging

import pytest
from panoramisk.message import Message

from ivr_engine.asterisk.ami.client import AmiClient
from ivr_engine.sim import Behaviour, Simulator


def client(sim: Simulator, *, event_filter: bool = True) -> AmiClient:
    return AmiClient(
        "127.0.0.1",
        sim.ami_port,
        sim.config.ami_user,
        sim.config.ami_secret,
        event_filter=event_filter,
    )


async def answered_leg(ami: AmiClient, sim: Simulator, number: str) -> None:
    """Originate a leg that answers, then a Ping: every event sent before it is read."""
    sim.set_behaviour(number, Behaviour.answer_after(0.1))
    reply = await ami.originate(f"PJSIP/{number}@carrier", exten="s", context="default")
    assert reply["Reason"] == "4"
    await ami.ping()


async def test_only_handled_events_arrive(sim: Simulator) -> None:
    async with client(sim) as ami:
        await answered_leg(ami, sim, "01055550001")
        assert ami.event_counts.keys() <= {"FullyBooted", "OriginateResponse"}
        assert ami.event_counts["OriginateResponse"] == 1


async def test_unfiltered_session_gets_every_call_event(sim: Simulator) -> None:
    async with client(sim, event_filter=False) as ami:
        await answered_leg(ami, sim, "01055550002")
        assert {"Newchannel", "DialBegin", "Newstate", "DialEnd"} <= ami.event_counts.keys()


async def test_handler_registered_after_login_gets_its_events(sim: Simulator) -> None:
    got: list[str] = []

    async def on_newchannel(message: Message) -> None:
        got.append(str(message.get("Channel")))

    async with client(sim) as ami:
        ami.on_event("Newchannel", on_newchannel)
        await answered_leg(ami, sim, "01055550003")
        await asyncio.gather(*ami._handler_tasks)
        assert len(got) == 1 and got[0].startswith("PJSIP/")
        assert "DialBegin" not in ami.event_counts and ami.event_counts["Newchannel"] == 1


async def test_refused_filter_is_logged_once_and_the_client_works(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    assert sim.ami is not None
    sim.ami.write = sim.ami.write - {"system"}
    caplog.set_level(logging.WARNING, "ivr_engine.asterisk.ami")

    async def on_newchannel(message: Message) -> None:
        pass

    async with client(sim) as ami:
        ami.on_event("Newchannel", on_newchannel)
        await answered_leg(ami, sim, "01055550004")
        assert ami.health.ready
        assert "DialBegin" in ami.event_counts  # unfiltered, but the mask still applies
    refused = [r for r in caplog.records if "Filter refused" in r.getMessage()]
    assert len(refused) == 1
