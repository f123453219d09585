"""FastAGI ``route`` end to end: the AGI server on a real socket, the configuration cache on a
real Postgres with the sample configuration loaded, and a peer that talks as Asterisk's
``AGI(agi://127.0.0.1:4573/route)`` does: the ``agi_*`` block, then a reply per command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from ivr_engine.asterisk.agi.protocol import split_command
from ivr_engine.asterisk.agi.server import AgiServer, start_agi_server
from ivr_engine.calls.agi_route import SCRIPT, AgiRouteHandler
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.media import PromptMedia
from ivr_engine.commands.db import read_document
from ivr_engine.domain.planner import plan_call
from ivr_engine.prompts.names import tts_sound_name
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.loader import load_document
from ivr_engine.store.pool import create_pool_for_url

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample-config.yaml"
SEOUL = ZoneInfo("Asia/Seoul")
FRIDAY_NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)  # gangnam-pizza is open
FRIDAY_NIGHT = datetime(2026, 11, 20, 23, 30, tzinfo=SEOUL)  # closed; hongdae-pocha is open
FRIDAY_EVENING = datetime(2026, 11, 20, 20, 0, tzinfo=SEOUL)  # both open
GANGNAM, CALLER = "05051234567", "01020003000"
AFTER_HOURS = "지금은 영업시간이 아닙니다. 영업시간은 오전 11시부터 오후 10시까지입니다."
IVR_VARS = (
    "IVR_TARGETS",
    "IVR_STRATEGY",
    "IVR_RING",
    "IVR_CALLERID",
    "IVR_WHISPER",
    "IVR_PROMPT",
    "IVR_ANSWER",
    "IVR_CAUSE",
    "IVR_ACTION",
)


def tts(text: str) -> str:
    """The sound name the prompt builder gives a text (voice ko, espeak)."""
    return tts_sound_name(text, "ko", "espeak")


def env_block(
    extension: str, callerid: str = CALLER, *, script: str = SCRIPT, uniqueid: str = "1763607600.1"
) -> bytes:
    """The environment Asterisk 22 sends for AGI(agi://127.0.0.1:4573/<script>)."""
    env = {
        "network": "yes",
        "network_script": script,
        "request": f"agi://127.0.0.1:4573/{script}",
        "channel": "PJSIP/carrier-00000001",
        "language": "ko",
        "type": "PJSIP",
        "uniqueid": uniqueid,
        "version": "22.10.1",
        "callerid": callerid,
        "calleridname": "unknown",
        "callingpres": "0",
        "callingani2": "0",
        "callington": "0",
        "callingtns": "0",
        "dnid": extension,
        "rdnis": "unknown",
        "context": "from-carrier-agi",
        "extension": extension,
        "priority": "2",
        "enhanced": "0.0",
        "accountcode": "",
        "threadid": "139872",
    }
    return "".join(f"agi_{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


Reply = Callable[[int, list[str]], bytes]


def ok(_n: int, _words: list[str]) -> bytes:
    """Asterisk's reply to a successful SET VARIABLE."""
    return b"200 result=1\n"


@dataclass
class FakeCall:
    """What the fake Asterisk saw on one AGI connection."""

    commands: list[list[str]] = field(default_factory=list)

    @property
    def variables(self) -> dict[str, str]:
        """The variables set, by name (the last value wins)."""
        return {w[2]: w[3] for w in self.commands if w[:2] == ["SET", "VARIABLE"]}

    @property
    def order(self) -> list[str]:
        """Names of the variables in the order they were set."""
        return [w[2] for w in self.commands if w[:2] == ["SET", "VARIABLE"]]


async def agi_call(
    port: int, data: bytes, reply: Reply = ok, *, end_input: bool = False
) -> FakeCall:
    """Connect as Asterisk, send ``data``, answer every command with ``reply`` until the
    engine closes the connection (which is how AGI() returns to the dialplan)."""
    call = FakeCall()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(10):
            writer.write(data)
            if end_input:
                writer.write_eof()
            await writer.drain()
            while line := await reader.readline():
                words = split_command(line.decode())
                call.commands.append(words)
                writer.write(reply(len(call.commands), words))
                await writer.drain()
    except ConnectionError:
        pass  # the engine closed while our last bytes were on their way
    finally:
        writer.close()
    return call


class Clock:
    """The planner's "now", set by each test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Agi:
    """The running server, its cache and the planner's clock."""

    server: AgiServer
    cache: ConfigCache
    clock: Clock

    async def call(self, extension: str, callerid: str = CALLER, **kw: object) -> FakeCall:
        """One ``route`` call to ``extension`` from ``callerid``."""
        return await agi_call(self.server.port, env_block(extension, callerid), **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def running_agi(pool: asyncpg.Pool, db_url: str) -> AsyncIterator[Agi]:
    """The sample configuration in Postgres, a started cache, the AGI server on port 0."""
    await load_document(pool, read_document(SAMPLE), source=str(SAMPLE))
    cache = ConfigCache(pool, db_url)  # as app.open_config_cache builds it
    await cache.start()
    clock = Clock(FRIDAY_NOON)
    server = AgiServer({SCRIPT: AgiRouteHandler(cache, PromptMedia("ko", "espeak"), clock=clock)})
    try:
        await server.start("127.0.0.1", 0)
        yield Agi(server, cache, clock)
    finally:
        await server.stop()
        await cache.close()


@pytest.fixture
async def agi(pool: asyncpg.Pool, db_url: str) -> AsyncIterator[Agi]:
    """The AGI server on the sample configuration, clock at Friday noon in Seoul."""
    async with running_agi(pool, db_url) as running:
        yield running


# -- what the dialplan is told -------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "callerid"),
    [
        (GANGNAM, CALLER),
        ("+825051234567", "+821020003000"),  # international forms from the carrier
        ("825051234567", "01020003000"),
    ],
)
async def test_open_number_forwards_to_its_targets(agi: Agi, extension: str, callerid: str) -> None:
    call = await agi.call(extension, callerid)
    assert call.variables == {
        "IVR_TARGETS": "01011112222&023334444",
        "IVR_STRATEGY": "sequential",
        "IVR_RING": "20&15",
        "IVR_CALLERID": CALLER,
        "IVR_WHISPER": tts("배달앱 주문 전화입니다."),
        "IVR_PROMPT": "",
        "IVR_ANSWER": "0",
        "IVR_CAUSE": "",
        "IVR_ACTION": "forward",
    }
    assert call.order == list(IVR_VARS)  # every variable, the action last


async def test_simultaneous_targets_see_the_virtual_number(agi: Agi) -> None:
    agi.clock.now = FRIDAY_EVENING
    v = (await agi.call("05059876543")).variables
    assert (v["IVR_ACTION"], v["IVR_STRATEGY"]) == ("forward", "simultaneous")
    assert (v["IVR_TARGETS"], v["IVR_RING"]) == ("01033334444&07012345678", "25")
    assert v["IVR_CALLERID"] == "05059876543"
    assert v["IVR_WHISPER"] == tts("포털 광고를 보고 온 예약 전화입니다.")


async def test_greeting_and_answer_first_are_passed_on(agi: Agi) -> None:
    agi.clock.now = FRIDAY_EVENING
    v = (await agi.call("050243218765")).variables
    assert (v["IVR_ACTION"], v["IVR_TARGETS"], v["IVR_RING"]) == ("forward", "01033334444", "30")
    assert v["IVR_PROMPT"] == tts("단체 예약 전용 번호입니다. 연결해 드리겠습니다.")
    assert v["IVR_ANSWER"] == "1"


async def test_closed_number_announces_after_hours(agi: Agi) -> None:
    agi.clock.now = FRIDAY_NIGHT
    v = (await agi.call(GANGNAM)).variables
    assert v == {
        "IVR_TARGETS": "",
        "IVR_STRATEGY": "",
        "IVR_RING": "",
        "IVR_CALLERID": "",
        "IVR_WHISPER": "",
        "IVR_PROMPT": tts(AFTER_HOURS),
        "IVR_ANSWER": "0",
        "IVR_CAUSE": "16",
        "IVR_ACTION": "announce",
    }


@pytest.mark.parametrize("callerid", ["010-9999-0000", "unknown", ""])
async def test_blocked_and_anonymous_callers_are_rejected(agi: Agi, callerid: str) -> None:
    v = (await agi.call(GANGNAM, callerid)).variables
    assert (v["IVR_ACTION"], v["IVR_CAUSE"]) == ("announce", "21")
    assert (v["IVR_PROMPT"], v["IVR_ANSWER"]) == ("ivr/system/blocked-caller", "0")
    assert v["IVR_TARGETS"] == ""


@pytest.mark.parametrize(
    ("extension", "prompt", "cause"),
    [
        ("05042223333", "ivr/system/not-in-service", "1"),  # terminated
        ("05050000001", "ivr/system/not-in-service", "1"),  # not in the configuration
        ("050712345678", "ivr/system/temporarily-unavailable", "20"),  # paused
    ],
)
async def test_numbers_not_in_service(agi: Agi, extension: str, prompt: str, cause: str) -> None:
    v = (await agi.call(extension)).variables
    assert (v["IVR_ACTION"], v["IVR_PROMPT"], v["IVR_CAUSE"]) == ("announce", prompt, cause)


async def test_menu_number_without_targets_cannot_be_reached(agi: Agi) -> None:
    v = (await agi.call("05053001000")).variables  # haneul-shop: a menu, no forward target
    assert (v["IVR_ACTION"], v["IVR_PROMPT"]) == ("announce", "ivr/system/cannot-be-reached")
    assert (v["IVR_CAUSE"], v["IVR_ANSWER"]) == ("3", "0")


async def test_dialled_number_that_is_no_number_takes_the_fallback(agi: Agi) -> None:
    v = (await agi.call("s")).variables
    assert v["IVR_ACTION"] == "fallback"
    assert all(v[name] in ("", "0") for name in IVR_VARS[:-1])


async def test_one_masked_log_line_per_call(agi: Agi, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ivr_engine.calls.agi_route"):
        await agi.call(GANGNAM)
    lines = [r.getMessage() for r in caplog.records if r.name == "ivr_engine.calls.agi_route"]
    assert len(lines) == 1
    assert "0505-12*-45**" in lines[0] and "010-20**-30**" in lines[0]
    assert "forward" in lines[0] and "coloring not played" in lines[0]
    assert GANGNAM not in caplog.text and CALLER not in caplog.text
    assert "01011112222" not in caplog.text


# -- the database going away ---------------------------------------------------------------


async def test_database_down_uses_last_known_else_the_fallback(
    pool: asyncpg.Pool, db_url: str
) -> None:
    own = await create_pool_for_url(db_url, min_size=1, max_size=2)
    try:
        async with running_agi(own, db_url) as agi:
            assert (await agi.call(GANGNAM)).variables["IVR_ACTION"] == "forward"
            agi.cache.clear()  # entries are kept aside as last known
            await own.close()
            v = (await agi.call(GANGNAM)).variables
            assert (v["IVR_ACTION"], v["IVR_TARGETS"]) == ("forward", "01011112222&023334444")
            v = (await agi.call("05059876543")).variables  # never read before
            assert v["IVR_ACTION"] == "fallback"
            assert v["IVR_TARGETS"] == v["IVR_PROMPT"] == ""
    finally:
        await own.close()


# -- Asterisk hanging up, errors and garbage -----------------------------------------------


@pytest.mark.parametrize("after", [0, 1, 4])
async def test_hangup_mid_session_closes_the_connection(
    agi: Agi, after: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Asterisk sends HANGUP while it waits for the next command (right after the environment
    when ``after`` is 0, else after its reply to command ``after``): the engine stops at the
    command it is waiting on and closes the connection."""
    data = env_block(GANGNAM) + (b"HANGUP\n" if after == 0 else b"")

    def reply(n: int, _words: list[str]) -> bytes:
        return b"200 result=1\nHANGUP\n" if n == after else b"200 result=1\n"

    with caplog.at_level(logging.INFO, logger="ivr_engine.asterisk.agi.server"):
        call = await agi_call(agi.server.port, data, reply)
    assert len(call.commands) == after + 1
    assert "IVR_ACTION" not in call.variables
    assert "the channel hung up" in caplog.text
    assert (await agi.call(GANGNAM)).variables["IVR_ACTION"] == "forward"  # still serving


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (b"511 Command Not Permitted on a dead channel or intercept routine\n", "AGI 511"),
        (b"510 Invalid or unknown command\n", "AGI 510"),
        (
            b"520-Invalid command syntax.  Proper usage follows:\n Usage: SET VARIABLE\n"
            b"520 End of proper usage.\n",
            "AGI 520",
        ),
        (b"hello there\n", "not an AGI reply"),
    ],
)
async def test_error_replies_end_the_connection(
    agi: Agi, error: bytes, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    call = await agi.call(GANGNAM, reply=lambda _n, _w: error)
    assert len(call.commands) == 1
    assert logged in caplog.text


async def test_connection_dropped_mid_session(agi: Agi, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.server.port)
    writer.write(env_block(GANGNAM))
    assert (await reader.readline()).startswith(b"SET VARIABLE")
    writer.write(b"200 res")  # Asterisk goes away in the middle of a reply
    writer.write_eof()
    assert await reader.read() == b""  # the engine closed its side too
    writer.close()
    assert "Asterisk closed the connection" in caplog.text
    assert (await agi.call(GANGNAM)).variables["IVR_ACTION"] == "forward"


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:4573\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
        b"\n",
        b"agi_network: yes\nagi_network_script: route\n",  # the block never ends
        b"x" * 70_000 + b"\n",
    ],
)
async def test_garbage_instead_of_the_environment(
    agi: Agi, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    call = await agi_call(agi.server.port, data, end_input=True)
    assert call.commands == []
    assert agi.server.served == 0 and agi.server.refused == 1
    assert "connection closed" in caplog.text
    assert (await agi.call(GANGNAM)).variables["IVR_ACTION"] == "forward"


async def test_unknown_script_is_refused(agi: Agi, caplog: pytest.LogCaptureFixture) -> None:
    call = await agi_call(agi.server.port, env_block(GANGNAM, script="billing"))
    assert call.commands == []
    assert "no script 'billing'" in caplog.text


async def test_stop_ends_connections_in_progress(agi: Agi) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", agi.server.port)
    writer.write(env_block(GANGNAM))
    await writer.drain()
    first = await reader.readline()  # the engine waits for our reply now
    assert first.startswith(b"SET VARIABLE")
    await agi.server.stop()
    assert await reader.read() == b""  # closed by the engine
    writer.close()


async def test_a_busy_port_leaves_the_engine_without_agi(
    agi: Agi, caplog: pytest.LogCaptureFixture
) -> None:
    second = await start_agi_server({}, "127.0.0.1", agi.server.port)
    assert second is None
    assert "FastAGI cannot listen" in caplog.text
    assert (await agi.call(GANGNAM)).variables["IVR_ACTION"] == "forward"


async def test_handler_follows_the_call_environment(agi: Agi) -> None:
    """Built from the engine's CallEnv, the handler uses its clock and planner as they are
    at call time (the metrics wrap the planner after the environment is made)."""
    env = CallEnv(ari=None, events=None, configs=agi.cache)  # type: ignore[arg-type]
    server = await start_agi_server({SCRIPT: AgiRouteHandler.for_env(env)}, "127.0.0.1", 0)
    assert server is not None
    planned: list[str] = []

    def counting(*args: Any) -> Any:
        planned.append(args[2])
        return plan_call(*args)

    env.clock, env.planner = Clock(FRIDAY_NIGHT), counting
    try:
        v = (await agi_call(server.port, env_block(GANGNAM))).variables
    finally:
        await server.stop()
    assert (v["IVR_ACTION"], v["IVR_CAUSE"]) == ("announce", "16")
    assert planned == [GANGNAM]


async def test_silent_peer_is_dropped_after_the_environment_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = AgiServer({}, env_timeout=0.2)
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed by the server, nothing sent
        writer.close()
    finally:
        await server.stop()
    assert "no AGI environment in time" in caplog.text
