"""The AstDB fallback table, kept by ``FallbackSync`` through the simulator's AMI, against a
real Postgres with the sample configuration loaded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from ivr_engine.asterisk.ami.client import AmiClient
from ivr_engine.asterisk.ami.protocol import AmiError
from ivr_engine.asterisk.ari.stream import Backoff
from ivr_engine.commands.db import read_document
from ivr_engine.domain.model import ConfigDocument, ForwardTarget, NumberConfig, NumberStatus
from ivr_engine.fallback_sync import FAMILIES, FallbackSync, digits, fallback_entry
from ivr_engine.metrics import Metrics
from ivr_engine.sim import Simulator
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.config_repo import fetch_all_number_configs
from ivr_engine.store.loader import load_document
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "sample-config.yaml"
GANGNAM, HONGDAE, GROUP = "05051234567", "05059876543", "050243218765"
PAUSED, TERMINATED = "050712345678", "05042223333"


def keys(sim: Simulator, number: str) -> tuple[str | None, str | None, str | None]:
    """The three fallback keys of a number in the simulator's AstDB."""
    return (
        sim.astdb.get(f"ivr-fallback/{number}"),
        sim.astdb.get(f"ivr-fallback-ring/{number}"),
        sim.astdb.get(f"ivr-fallback-cid/{number}"),
    )


def sample(rig: Rig, action: str, result: str) -> float:
    """The fallback sync's action counter."""
    value = rig.metrics.registry.get_sample_value(
        "ivr_fallback_sync_actions_total", {"action": action, "result": result}
    )
    return value or 0.0


def modified(tmp_path: Path, *edits: tuple[str, str]) -> ConfigDocument:
    """The sample configuration with text replacements applied."""
    text = SAMPLE.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "changed.yaml"
    path.write_text(text, encoding="utf-8")
    return read_document(path)


@dataclass
class Rig:
    """The simulator, its AMI through a proxy, the database and the sync."""

    sim: Simulator
    proxy: TcpProxy
    ami: AmiClient
    pool: asyncpg.Pool
    cache: ConfigCache
    sync: FallbackSync
    metrics: Metrics

    async def until(self, predicate: Callable[[], bool], timeout: float = 1.0) -> None:  # noqa: ASYNC109
        """Wait for the sync to make ``predicate`` true."""
        async with asyncio.timeout(timeout):
            await self.sync.wait_until(predicate)


@pytest.fixture
async def rig(sim: Simulator, pool: asyncpg.Pool, db_url: str) -> AsyncIterator[Rig]:
    await load_document(pool, read_document(SAMPLE), source=str(SAMPLE))
    async with AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(TcpProxy("127.0.0.1", sim.ami_port))
        cfg = sim.config
        ami = AmiClient(
            "127.0.0.1",
            proxy.port,
            cfg.ami_user,
            cfg.ami_secret,
            backoff=Backoff(base=0.01, cap=0.05),
        )
        await ami.connect()
        stack.push_async_callback(ami.close)
        cache = ConfigCache(pool, db_url)
        await cache.start()
        stack.push_async_callback(cache.close)
        metrics = Metrics()
        sync = FallbackSync(ami, pool, cache, metrics=metrics)
        stack.push_async_callback(sync.stop)
        yield Rig(sim, proxy, ami, pool, cache, sync, metrics)


def test_entry_only_for_active_numbers_with_targets() -> None:
    base = NumberConfig("05051234567", "t", "T", targets=(ForwardTarget("010-1111-2222", 25),))
    entry = fallback_entry(base)
    assert entry is not None and entry.values() == {
        "ivr-fallback": "01011112222",
        "ivr-fallback-ring": "25",
        "ivr-fallback-cid": "caller",
    }
    for status in (NumberStatus.PAUSED, NumberStatus.TERMINATED):
        paused = NumberConfig("05051234567", "t", "T", status=status, targets=base.targets)
        assert fallback_entry(paused) is None
    assert fallback_entry(NumberConfig("05051234567", "t", "T")) is None
    assert fallback_entry(None) is None


async def test_full_sync_writes_active_numbers_and_removes_the_rest(rig: Rig) -> None:
    rig.sim.astdb[f"ivr-fallback/{PAUSED}"] = "01099998888"  # left from before the pause
    report = await rig.sync.sync_all()
    assert keys(rig.sim, GANGNAM) == ("01011112222", "20", "caller")
    assert keys(rig.sim, HONGDAE) == ("01033334444", "25", "virtual_number")
    assert keys(rig.sim, GROUP) == ("01033334444", "30", "virtual_number")
    assert keys(rig.sim, PAUSED) == (None, None, None)
    assert keys(rig.sim, TERMINATED) == (None, None, None)
    expected = {
        digits(c.number): fallback_entry(c) for c in await fetch_all_number_configs(rig.pool)
    }
    for number, entry in expected.items():
        values = entry.values() if entry is not None else {}
        assert keys(rig.sim, number) == tuple(values.get(f) for f in FAMILIES), number
    active = sum(e is not None for e in expected.values())
    assert (report.put, report.deleted, report.errors) == (active, len(expected) - active, 0)
    assert rig.sync.entries == active
    again = await rig.sync.sync_all(force=False)
    assert (again.put, again.deleted, again.unchanged) == (0, 0, len(expected))


async def test_config_change_reaches_astdb_within_a_second(rig: Rig, tmp_path: Path) -> None:
    await rig.sync.start()
    await rig.until(lambda: rig.sync.full_syncs >= 1)
    assert keys(rig.sim, GANGNAM)[0] == "01011112222"
    doc = modified(
        tmp_path,
        ("{number: 010-1111-2222, ring_seconds: 20}", "{number: 010-4444-5555, ring_seconds: 30}"),
        ("        caller_id: caller\n", "        caller_id: virtual_number\n"),
    )
    await load_document(rig.pool, doc, source="changed.yaml", force_targets=True)
    await rig.until(lambda: keys(rig.sim, GANGNAM) == ("01044445555", "30", "virtual_number"))
    assert keys(rig.sim, HONGDAE)[0] == "01033334444"


async def test_paused_number_is_removed(rig: Rig, tmp_path: Path) -> None:
    await rig.sync.start()
    await rig.until(lambda: keys(rig.sim, HONGDAE)[0] == "01033334444")
    doc = modified(
        tmp_path,
        ("        label: 예약 전화\n", "        label: 예약 전화\n        status: paused\n"),
    )
    await load_document(rig.pool, doc, source="paused.yaml")
    await rig.until(lambda: keys(rig.sim, HONGDAE) == (None, None, None))
    assert keys(rig.sim, GANGNAM)[0] == "01011112222"
    assert sample(rig, "del", "ok") >= 1


async def test_full_resync_after_ami_reconnect(rig: Rig) -> None:
    await rig.sync.start()
    await rig.until(lambda: rig.sync.full_syncs >= 1)
    rig.sim.astdb.clear()  # Asterisk came back without its database
    rig.proxy.refuse = True
    await rig.proxy.cut()
    rig.proxy.refuse = False
    await rig.until(lambda: keys(rig.sim, GANGNAM)[0] == "01011112222", timeout=5.0)
    assert rig.ami.health.connects == 2
    assert keys(rig.sim, GROUP) == ("01033334444", "30", "virtual_number")


async def test_sync_retries_while_ami_is_down(rig: Rig) -> None:
    rig.proxy.refuse = True
    await rig.proxy.cut()
    with pytest.raises(AmiError, match="AstDB action"):
        await rig.sync.sync_all()
    assert sample(rig, "put", "error") >= 1
    await rig.sync.start()
    rig.proxy.refuse = False
    await rig.until(lambda: keys(rig.sim, HONGDAE)[0] == "01033334444", timeout=5.0)
