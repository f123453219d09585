"""Engines stopping mid-call, killed (SIGKILL) or asked to (SIGTERM): the next engine adopts
the conversation it finds bridged, ends it cleanly when one side hangs up, and every call
leaves exactly one record."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from ivr_engine.asterisk.ari.events import ChannelEnteredBridge, ChannelStateChange
from ivr_engine.asterisk.ari.stream import EventStream
from ivr_engine.config_yaml import load_yaml
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.service import running_engine
from ivr_engine.settings import AgiSettings, AriSettings, PromptSettings, Settings
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.store.loader import load_document

from .test_live_calls import lab

ROOT = Path(__file__).resolve().parents[2]
LAB, TARGET = "05055550001", "01044440001"


async def _engine_process(
    db_url: str, sim: Simulator, sounds: Path, data_dir: Path, drain: float = 1.0
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "IVR_ARI_URL": sim.ari_url,
        "IVR_PROMPTS_SOUNDS_DIR": str(sounds),
        "IVR_DATA_DIR": str(data_dir),
        "IVR_HTTP_PORT": "0",
        "IVR_AGI_PORT": "0",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr_engine.cli",
        "serve",
        "--drain",
        str(drain),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


@asynccontextmanager
async def observed(sim: Simulator) -> AsyncIterator[EventStream]:
    """An observer app subscribed to everything, to wait on events without an engine."""
    stream = EventStream(sim.ari_url, "ivr", "ivr-secret", "observer", subscribe_all=True)
    await stream.start()
    try:
        await stream.wait_connected(10)
        yield stream
    finally:
        await stream.stop()


async def _records(pool: asyncpg.Pool, call_id: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM call_records WHERE call_id = $1", call_id)


def _settings(db_url: str, sim: Simulator, sounds: Path, data_dir: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=str(data_dir),
        http_port=0,
        agi=AgiSettings(port=0),
        ari=AriSettings(url=sim.ari_url),
        prompts=PromptSettings(sounds_dir=str(sounds)),
    )


async def _setup(
    sim_factory,
    pool: asyncpg.Pool,
    talk: float | None,  # type: ignore[no-untyped-def]
    ring: int = 10,
):
    sim: Simulator = await sim_factory()
    doc = parse_document(load_yaml(lab(ring=ring)), "<test>")
    await load_document(pool, doc, source="<test>")
    sim.set_behaviour(TARGET, Behaviour.answer_after(1.0, talk=talk))
    return sim


async def test_killed_engine_call_is_adopted(
    sim_factory,
    db_url: str,
    pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
    built_sounds: Path,
    tmp_path: Path,
) -> None:
    sim = await _setup(sim_factory, pool, talk=80.0)
    proc = await _engine_process(db_url, sim, built_sounds, tmp_path)
    try:
        async with observed(sim) as observer:
            await sim.wait_app("ivr-engine", timeout=60)
            call = await sim.place_call(to=LAB, caller="01020003000")
            entered = observer.expect(ChannelEnteredBridge, channel_id=call.channel_id)
            bridge = (await entered.wait(30)).bridge.id
            bridged_at = datetime.now(UTC)
            proc.kill()
            await proc.wait()
            killed_at = datetime.now(UTC)
            assert not call.ended, "the call must outlive the engine that set it up"
            async with running_engine(
                _settings(db_url, sim, built_sounds, tmp_path), drain_timeout=2
            ) as engine:
                # The callee hangs up after its talk time; the adopted call ends the caller.
                await call.wait_ended(30)
                ended_at = datetime.now(UTC)
                assert engine.dispatcher.sessions == {}
        heard = sim.timeline(call.channel_id)
        assert [e.kind for e in heard][-1] == "hangup"
        assert bridge not in sim.bridges, "the adopted call's bridge was left behind"
        assert not [c for c in sim.channels.values() if not c.gone]
        (record,) = await _records(pool, call.channel_id)
        assert record["disposition"] == "ANSWERED" and record["hangup_by"] == "callee"
        assert record["answered_target"] == TARGET
        # What the killed engine knew is on the channels: the real answer and connect times
        # (not the adoption's), the ringing, the plan and the attempts.
        assert record["answer_time"] < killed_at and record["connect_time"] < killed_at
        assert abs((record["connect_time"] - bridged_at).total_seconds()) < 0.5
        assert abs((record["end_time"] - ended_at).total_seconds()) < 0.5
        talk = (record["end_time"] - record["connect_time"]).total_seconds()
        assert record["billsec"] == int(talk) and talk > (ended_at - killed_at).total_seconds()
        assert record["ring_time"] is not None and record["ring_time"] < record["answer_time"]
        assert record["start_time"] < record["ring_time"]
        assert [(a["target"], a["result"]) for a in record["attempts"]] == [(TARGET, "answered")]
        assert record["plan_state"] == "open" and record["config_version"] is not None
        assert not any("adoption time" in r for r in record["reasons"]), record["reasons"]
        callee = next(c for c in sim.world.all_channels.values() if c.id in call.callees())
        assert (record["channel"], record["dstchannel"]) == (call.channel.name, callee.name)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigterm_hands_calls_over(
    sim_factory,
    db_url: str,
    pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
    built_sounds: Path,
    tmp_path: Path,
) -> None:
    sim = await _setup(sim_factory, pool, talk=120.0)
    sim.set_behaviour("01044449999", Behaviour.no_answer())
    proc = await _engine_process(db_url, sim, built_sounds, tmp_path, drain=0.5)
    try:
        async with observed(sim) as observer:
            await sim.wait_app("ivr-engine", timeout=60)
            talking = await sim.place_call(to=LAB, caller="01020003000")
            entered = observer.expect(ChannelEnteredBridge, channel_id=talking.channel_id)
            await entered.wait(30)
            stopped_at = datetime.now(UTC)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        # The conversation was left bridged; nothing of it was recorded yet.
        assert not talking.ended and await _records(pool, talking.channel_id) == []
        async with running_engine(
            _settings(db_url, sim, built_sounds, tmp_path), drain_timeout=2
        ) as engine:
            await asyncio.wait_for(engine.dispatcher.adoption_done.wait(), 10)
            assert list(engine.dispatcher.adopted) == [talking.channel_id]
            await talking.hangup()  # the caller hangs up: the adopted call releases the callee
            await talking.wait_ended(30)
        (record,) = await _records(pool, talking.channel_id)
        assert record["disposition"] == "ANSWERED" and record["hangup_by"] == "caller"
        # The stopping engine handed its trace over: answer and ring times from before the
        # restart, not the adoption's.
        assert record["answer_time"] < stopped_at and record["ring_time"] < stopped_at
        assert record["answered_target"] == TARGET
        assert not [c for c in sim.channels.values() if not c.gone]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigterm_sends_new_calls_back_to_the_dialplan(
    sim_factory,
    db_url: str,
    pool: asyncpg.Pool,
    built_sounds: Path,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    sim = await _setup(sim_factory, pool, talk=None, ring=600)  # rings 30 s of wall time
    sim.set_behaviour(TARGET, Behaviour.no_answer())
    sim.astdb[f"ivr-fallback/{LAB}"] = "01044448888"  # what fallback_sync would have put
    proc = await _engine_process(db_url, sim, built_sounds, tmp_path, drain=0.5)
    try:
        async with observed(sim) as observer:
            await sim.wait_app("ivr-engine", timeout=60)
            ringing = await sim.place_call(to=LAB, caller="01020003000")
            target_rings = observer.expect(
                ChannelStateChange,
                lambda e: (
                    e.channel.id.startswith(ringing.channel_id + "-")
                    and e.channel.state == "Ringing"
                ),
            )
            await target_rings.wait(30)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        # Unanswered when the engine stopped: handed back, the dialplan's fallback rings the
        # AstDB target.
        kinds = [e.kind for e in sim.timeline(ringing.channel_id)]
        assert "dial" in kinds[kinds.index("stasis") + 1 :], [
            e.describe() for e in sim.timeline(ringing.channel_id)
        ]
        (record,) = await _records(pool, ringing.channel_id)
        assert any("shutting down" in r for r in record["reasons"])
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
