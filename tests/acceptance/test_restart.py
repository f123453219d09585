"""An engine killed mid-call (SIGKILL, no clean-up at all): the next engine adopts the
conversation it finds bridged in the app and ends it cleanly when one side hangs up."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import yaml

from ivr_engine.asterisk.ari.events import ChannelEnteredBridge
from ivr_engine.asterisk.ari.stream import EventStream
from ivr_engine.domain.config_doc import parse_document
from ivr_engine.service import running_engine
from ivr_engine.settings import AriSettings, PromptSettings, Settings
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.store.loader import load_document

from .test_live_calls import lab

ROOT = Path(__file__).resolve().parents[2]


async def _start_engine_process(db_url: str, sim: Simulator, sounds: Path,
                                data_dir: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "DATABASE_URL": db_url, "IVR_ARI_URL": sim.ari_url,
           "IVR_PROMPTS_SOUNDS_DIR": str(sounds), "IVR_DATA_DIR": str(data_dir),
           "IVR_HTTP_PORT": "0"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ivr_engine.cli", "serve", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def test_killed_engine_call_is_adopted(sim_factory, db_url: str, pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
                                             built_sounds: Path, tmp_path: Path) -> None:
    sim: Simulator = await sim_factory()
    await load_document(pool, parse_document(yaml.safe_load(lab()), "<test>"), source="<test>")
    sim.set_behaviour("01044440001", Behaviour.answer_after(1.0, talk=80.0))
    observer = EventStream(sim.ari_url, "ivr", "ivr-secret", "observer", subscribe_all=True)
    await observer.start()
    proc = await _start_engine_process(db_url, sim, built_sounds, tmp_path)
    try:
        await observer.wait_connected(10)
        await sim.wait_app("ivr-engine", timeout=60)
        call = await sim.place_call(to="05055550001", caller="01020003000")
        entered = observer.expect(ChannelEnteredBridge, channel_id=call.channel_id)
        bridge = (await entered.wait(30)).bridge.id
        proc.kill()
        await proc.wait()
        assert not call.ended, "the call must outlive the engine that set it up"

        settings = Settings(database_url=db_url, data_dir=str(tmp_path), http_port=0,
                            ari=AriSettings(url=sim.ari_url),
                            prompts=PromptSettings(sounds_dir=str(built_sounds)))
        async with running_engine(settings, drain_timeout=2) as engine:
            # The callee hangs up after its talk time; the adopted call ends the caller.
            await call.wait_ended(30)
            assert engine.dispatcher.sessions == {}
        heard = sim.timeline(call.channel_id)
        assert [e.kind for e in heard][-1] == "hangup"
        assert bridge not in sim.bridges, "the adopted call's bridge was left behind"
        assert not [c for c in sim.channels.values() if not c.gone]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await observer.stop()
