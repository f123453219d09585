"""Engine down entirely: with no engine on ARI, the dialplan's fallback still forwards calls
to the number's first target, from the AstDB table the fallback sync keeps over AMI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.asterisk.ami.client import AmiClient
from ivr_engine.commands.db import read_document
from ivr_engine.fallback_sync import FallbackSync
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.store.loader import load_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "sample-config.yaml"
GANGNAM, FIRST, SECOND = "05051234567", "01011112222", "023334444"
PAUSED = "050712345678"


@pytest.fixture
async def synced(sim: Simulator, pool: asyncpg.Pool) -> AsyncIterator[Simulator]:
    """A simulator whose AstDB was filled by the fallback sync alone; no engine on ARI."""
    await load_document(pool, read_document(SAMPLE), source=str(SAMPLE))
    cfg = sim.config
    async with AmiClient(cfg.host, sim.ami_port, cfg.ami_user, cfg.ami_secret) as ami:
        report = await FallbackSync(ami, pool).sync_all()
    assert report.put >= 3 and report.errors == 0
    assert not sim.registry.is_active(cfg.default_app), "an engine is serving ARI"
    yield sim


async def test_call_reaches_the_first_target_with_no_engine(synced: Simulator) -> None:
    sim = synced
    sim.set_behaviour(FIRST, Behaviour.answer_after(2.0, talk=3.0))
    sim.set_behaviour(SECOND, Behaviour.answer_after(0.5, talk=3.0))
    call = await sim.place_call(to=GANGNAM, caller="01020003000")
    await call.wait_ended(5)

    caller = [e.kind for e in call.timeline]
    assert "stasis_failed" in caller and "declined" not in caller
    (dial,) = [e for e in call.timeline if e.kind == "dial" and e.peer]  # the fallback's Dial()
    assert dial.media == f"PJSIP/{FIRST}@{sim.config.trunk}"
    at = call.timeline.index(dial)
    assert caller.index("stasis_failed") < at < caller.index("answered") < caller.index("bridged")

    (leg_id,) = call.callees()
    leg = sim.world.all_channels[leg_id]
    assert leg.endpoint_resource == FIRST
    leg_kinds = [e.kind for e in sim.timeline(leg_id)]
    assert "answered" in leg_kinds and "bridged" in leg_kinds
    answered = next(e for e in call.timeline if e.kind == "answered")
    ring = next(e for e in call.timeline if e.kind == "ringback")
    assert ring.t_start < answered.t_start  # the caller heard ringing until the target answered


async def test_paused_number_is_not_forwarded(synced: Simulator) -> None:
    call = await synced.place_call(to=PAUSED, caller="01020003000")
    await call.wait_ended(5)
    kinds = [e.kind for e in call.timeline]
    assert "stasis_failed" in kinds and "declined" in kinds
    assert call.callees() == []
