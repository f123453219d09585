"""``/metrics``, ``/healthz`` and ``/readyz`` of a running engine (real Postgres, the simulator
over real sockets, the ARI connection through a TCP proxy that can be cut)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from ivr_engine.asterisk.ari.stream import Backoff
from ivr_engine.commands.db import read_document
from ivr_engine.domain.trace import CallTrace
from ivr_engine.http_api import bound_port, start_http
from ivr_engine.observability import Observability
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import AgiSettings, AriSettings, PromptSettings, Settings
from ivr_engine.sim import Behaviour, Simulator
from ivr_engine.store.loader import load_document
from tests.acceptance.conftest import built_sounds, shifted_clock  # noqa: F401  (fixture)
from tests.fixtures.sim import SimFactory
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "sample-config.yaml"
OPEN = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Seoul"))  # a Friday, open
GANGNAM, FIRST = "05051234567", "01011112222"


@dataclass
class Served:
    """An engine with its HTTP endpoint."""

    engine: RunningEngine
    sim: Simulator
    proxy: TcpProxy
    obs: Observability
    url: str
    http: aiohttp.ClientSession
    traces: asyncio.Queue[CallTrace]

    async def get(self, path: str) -> tuple[int, str]:
        """GET a path; (status, body)."""
        async with self.http.get(self.url + path) as resp:
            return resp.status, await resp.text()

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of ``/metrics`` by (name, sorted labels)."""
        status, text = await self.get("/metrics")
        assert status == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }


@pytest.fixture
async def served(
    db_url: str,
    sim_factory: SimFactory,
    built_sounds: Path,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Served]:
    async with AsyncExitStack() as stack:
        sim = await sim_factory(
            sounds_dirs=(str(built_sounds), str(ROOT / "sounds"), str(ROOT / "sounds" / "sim"))
        )
        proxy = await stack.enter_async_context(TcpProxy("127.0.0.1", sim.ari_port))
        settings = Settings(
            database_url=db_url,
            http_port=0,
            data_dir=str(tmp_path),
            agi=AgiSettings(port=0),
            ari=AriSettings(url=f"http://127.0.0.1:{proxy.port}/ari"),
            prompts=PromptSettings(sounds_dir=str(built_sounds)),
        )
        engine = await stack.enter_async_context(running_engine(settings, drain_timeout=2))
        engine.stream.backoff = Backoff(base=0.01, cap=0.05)
        await load_document(engine.db.pool, read_document(SAMPLE), source=str(SAMPLE))
        engine.cache.clear()
        engine.env.clock = shifted_clock(OPEN, sim.config.speed)
        traces: asyncio.Queue[CallTrace] = asyncio.Queue()
        engine.dispatcher.on_session.append(traces)
        obs, runner = engine.observability, engine.http
        assert obs is not None and runner is not None
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield Served(
            engine, sim, proxy, obs, f"http://127.0.0.1:{bound_port(runner)}", http, traces
        )


async def test_metrics_count_a_forwarded_call(served: Served) -> None:
    before = await served.scrape()
    assert before[("ivr_ari_websocket_connected", ())] == 1.0
    assert (
        "ivr_calls_total",
        (("outcome", "forward"), ("result", "answered"), ("state", "open")),
    ) not in before
    served.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=4.0))
    call = await served.sim.place_call(to=GANGNAM, caller="01020003000")
    await call.wait_ended(10)
    trace = await asyncio.wait_for(served.traces.get(), 10)
    assert trace.answered_target == FIRST

    after = await served.scrape()
    assert (
        after[
            ("ivr_calls_total", (("outcome", "forward"), ("result", "answered"), ("state", "open")))
        ]
        == 1.0
    )
    assert (
        after[("ivr_tenant_calls_total", (("result", "answered"), ("tenant", "gangnam-pizza")))]
        == 1.0
    )
    assert after[("ivr_target_attempts_total", (("result", "answered"),))] == 1.0
    assert after[("ivr_active_calls", ())] == 0.0
    ops = [k for k in after if k[0] == "ivr_ari_request_seconds_count"]
    created = ("ivr_ari_request_seconds_count", (("operation", "channels.originate"),))
    assert sum(after[k] for k in ops) > sum(before.get(k, 0.0) for k in ops)
    assert after[created] - before.get(created, 0.0) == 1.0  # one target leg
    hits_misses = (
        after[("ivr_config_cache_hits_total", ())] + after[("ivr_config_cache_misses_total", ())]
    )
    assert hits_misses >= 1.0
    assert not [k for k in after if k[0] == "ivr_number_calls_total"]  # off by default


async def test_ari_errors_are_counted_by_operation_and_status_class(served: Served) -> None:
    key = (
        "ivr_ari_request_errors_total",
        (("operation", "channels.hangup"), ("status_class", "4xx")),
    )
    before = (await served.scrape()).get(key, 0.0)
    assert await served.engine.ari.hangup("no-such-channel", missing_ok=True) is False
    assert (await served.scrape())[key] == before + 1.0


async def test_healthz_answers_while_the_process_runs(served: Served) -> None:
    status, body = await served.get("/healthz")
    assert status == 200 and '"status": "ok"' in body


async def test_readyz_follows_the_ari_websocket(served: Served) -> None:
    status, body = await served.get("/readyz")
    assert status == 200, body
    assert '"connected": true' in body and '"reachable": true' in body
    assert (await served.scrape())[("ivr_database_up", ())] == 1.0

    lost = asyncio.Event()

    async def on_disconnect(_stream: object) -> None:
        lost.set()

    served.engine.stream.on_disconnect(on_disconnect)
    served.proxy.refuse = True
    await served.proxy.cut()
    await asyncio.wait_for(lost.wait(), 5)
    status, body = await served.get("/readyz")
    assert status == 503, body
    assert '"connected": false' in body and '"status": "not ready"' in body
    assert (await served.scrape())[("ivr_ari_websocket_connected", ())] == 0.0

    served.proxy.refuse = False
    await served.engine.stream.wait_connected(5)
    status, body = await served.get("/readyz")
    assert status == 200, body
    after = await served.scrape()
    assert after[("ivr_ari_websocket_connected", ())] == 1.0
    assert after[("ivr_ari_websocket_reconnects_total", ())] >= 1.0


async def test_other_parts_mount_their_routes(served: Served) -> None:
    async def pong(_request: web.Request) -> web.Response:
        return web.json_response({"pong": True})

    settings = dataclasses.replace(served.engine.settings, http_port=0)
    runner = await start_http(
        settings, served.engine, observability=served.obs, routes=[web.get("/sms/delivery", pong)]
    )
    try:
        url = f"http://127.0.0.1:{bound_port(runner)}"
        async with served.http.get(url + "/sms/delivery") as resp:
            assert resp.status == 200 and await resp.json() == {"pong": True}
        async with served.http.get(url + "/healthz") as resp:
            assert resp.status == 200
    finally:
        await runner.cleanup()


async def test_readyz_stays_ready_while_calls_hold_every_pooled_connection(
    served: Served,
) -> None:
    # Under load every pooled connection can be busy with call traffic: the readiness probe
    # has its own connection and must neither wait for the pool nor report Postgres down.
    errors = ("ivr_database_errors_total", (("source", "probe"),))
    before = (await served.scrape()).get(errors, 0.0)
    pool = served.engine.db.pool
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        status, body = await served.get("/readyz")
        took = loop.time() - started
        assert status == 200, body
        assert '"reachable": true' in body, body
        assert took < 1.0, f"/readyz took {took:.2f} s behind the exhausted pool"
        assert (await served.scrape()).get(errors, 0.0) == before
        assert (await served.scrape())[("ivr_database_up", ())] == 1.0
    finally:
        for conn in held:
            await pool.release(conn)
