"""The AMI client over real sockets: login, actions, list actions, events, reconnect.

``FakeAmi`` speaks the AMI wire format of asterisk-protocol.md B (banner, Login good/bad,
Ping, DBPut/DBGet/DBDel, async Originate + OriginateResponse, CoreShowChannels) so that the
client is tested without a real Asterisk; cuts go through ``TcpProxy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from panoramisk.message import Message

from ivr_engine.asterisk.ami import (
    AmiActionError,
    AmiAuthError,
    AmiClient,
    AmiConnectionError,
    AmiState,
)
from ivr_engine.asterisk.ari import Backoff
from ivr_engine.sim import Behaviour, Simulator
from tests.support.tcp_proxy import TcpProxy

USER, SECRET = "ivr", "ivr-secret"


class FakeAmi:
    """A scripted AMI server; ``emit`` sends an event to every logged-in client."""

    def __init__(self) -> None:
        self.db: dict[tuple[str, str], str] = {}
        self.clients: list[asyncio.StreamWriter] = []
        self.logins = 0
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.clients:
            w.transport.abort()
        await self.server.wait_closed()

    def emit(self, **headers: str) -> None:
        for w in self.clients:
            w.write(_block(headers))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        with contextlib.suppress(ConnectionError):
            while True:
                headers: dict[str, str] = {}
                while line := (await reader.readline()).decode().rstrip("\r\n"):
                    key, _, value = line.partition(": ")
                    headers[key.lower()] = value
                if not headers:
                    break
                if not self._handle(headers, writer):
                    break
        with contextlib.suppress(ValueError):
            self.clients.remove(writer)
        writer.close()

    def _handle(self, h: dict[str, str], w: asyncio.StreamWriter) -> bool:
        aid = h.get("actionid", "")
        action = h.get("action", "").lower()
        ok = {"Response": "Success", "ActionID": aid}
        if action == "login":
            if (h.get("username"), h.get("secret")) != (USER, SECRET):
                w.write(
                    _block(
                        {"Response": "Error", "ActionID": aid, "Message": "Authentication failed"}
                    )
                )
                return False
            self.logins += 1
            self.clients.append(w)
            w.write(_block({**ok, "Message": "Authentication accepted"}))
            w.write(
                _block(
                    {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}
                )
            )
        elif action == "ping":
            w.write(_block({**ok, "Ping": "Pong", "Timestamp": "1740000000.000000"}))
        elif action == "dbput":
            self.db[(h["family"], h["key"])] = h.get("val", "")
            w.write(_block({**ok, "Message": "Updated database successfully"}))
        elif action == "dbget":
            value = self.db.get((h["family"], h["key"]))
            if value is None:
                w.write(
                    _block(
                        {
                            "Response": "Error",
                            "ActionID": aid,
                            "Message": "Database entry not found",
                        }
                    )
                )
            else:
                w.write(_block({**ok, "EventList": "start", "Message": "Result will follow"}))
                w.write(
                    _block(
                        {
                            "Event": "DBGetResponse",
                            "Family": h["family"],
                            "Key": h["key"],
                            "Val": value,
                            "ActionID": aid,
                        }
                    )
                )
                w.write(
                    _block(
                        {
                            "Event": "DBGetComplete",
                            "ActionID": aid,
                            "EventList": "Complete",
                            "ListItems": "1",
                        }
                    )
                )
        elif action == "dbdel":
            if self.db.pop((h["family"], h["key"]), None) is None:
                w.write(
                    _block(
                        {
                            "Response": "Error",
                            "ActionID": aid,
                            "Message": "Database entry not found",
                        }
                    )
                )
            else:
                w.write(_block({**ok, "Message": "Key deleted successfully"}))
        elif action == "originate":
            w.write(_block({**ok, "Message": "Originate successfully queued"}))
            busy = h["channel"].startswith("PJSIP/busy")
            w.write(
                _block(
                    {
                        "Event": "OriginateResponse",
                        "Privilege": "call,all",
                        "ActionID": aid,
                        "Response": "Failure" if busy else "Success",
                        "Channel": h["channel"],
                        "Reason": "5" if busy else "4",
                        "Uniqueid": "1740000000.5",
                    }
                )
            )
        elif action == "coreshowchannels":
            w.write(_block({**ok, "EventList": "start", "Message": "Channels will follow"}))
            for n in (1, 2):
                w.write(
                    _block(
                        {
                            "Event": "CoreShowChannel",
                            "ActionID": aid,
                            "Channel": f"PJSIP/carrier-{n}",
                            "Uniqueid": f"17.{n}",
                        }
                    )
                )
            w.write(
                _block(
                    {
                        "Event": "CoreShowChannelsComplete",
                        "ActionID": aid,
                        "EventList": "Complete",
                        "ListItems": "2",
                    }
                )
            )
        elif action == "logoff":
            w.write(
                _block(
                    {"Response": "Goodbye", "ActionID": aid, "Message": "Thanks for all the fish."}
                )
            )
            return False
        else:
            w.write(
                _block(
                    {
                        "Response": "Error",
                        "ActionID": aid,
                        "Message": f"Invalid/unknown command: {h.get('action')}.",
                    }
                )
            )
        return True


def _block(headers: dict[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


def client_for(port: int, secret: str = SECRET) -> AmiClient:
    return AmiClient(
        "127.0.0.1", port, USER, secret, backoff=Backoff(base=0.01, cap=0.05), action_timeout=3.0
    )


async def test_login_ping_and_unknown_action(ami: FakeAmi) -> None:
    async with client_for(ami.port) as client:
        assert client.health.state is AmiState.CONNECTED and client.version == "11.0.0"
        assert await client.ping() >= 0
        with pytest.raises(AmiActionError, match="Invalid/unknown command"):
            await client.action({"Action": "NoSuchThing"})
        reply = await client.action({"Action": "NoSuchThing"}, check=False)
        assert reply["Response"] == "Error"
    assert client.health.state is AmiState.CLOSED


async def test_bad_secret_is_a_clear_error(ami: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "ivr_engine.asterisk.ami")
    client = client_for(ami.port, secret="wrong")
    with pytest.raises(AmiAuthError, match="Authentication failed"):
        await client.connect()
    assert client.health.state is AmiState.AUTH_FAILED
    assert "refused" in caplog.text
    await client.close()


async def test_connection_refused_is_a_connection_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(AmiConnectionError):
        await client_for(port).connect()


async def test_db_put_get_del_round_trip(ami: FakeAmi) -> None:
    async with client_for(ami.port) as client:
        await client.db_put("ivr", "blocked/01020003000", "1")
        assert await client.db_get("ivr", "blocked/01020003000") == "1"
        assert await client.db_del("ivr", "blocked/01020003000") is True
        assert await client.db_get("ivr", "blocked/01020003000") is None
        assert await client.db_del("ivr", "blocked/01020003000") is False


async def test_list_action_and_originate_response(ami: FakeAmi) -> None:
    async with client_for(ami.port) as client:
        items = await client.list_action({"Action": "CoreShowChannels"})
        assert [m["Channel"] for m in items] == ["PJSIP/carrier-1", "PJSIP/carrier-2"]
        answered = await client.originate(
            "PJSIP/01011112222@carrier",
            exten="s",
            context="default",
            priority=1,
            variables={"A": "1", "B": "2"},
        )
        assert (answered["Event"], answered["Response"], answered["Reason"]) == (
            "OriginateResponse",
            "Success",
            "4",
        )
        busy = await client.originate("PJSIP/busy@carrier", application="Playback", data="beep")
        assert (busy["Response"], busy["Reason"]) == ("Failure", "5")


async def test_event_handlers_must_be_async_and_receive_events(ami: FakeAmi) -> None:
    got: asyncio.Queue[Message] = asyncio.Queue()

    async def on_hangup(msg: Message) -> None:
        await got.put(msg)

    def plain(msg: Message) -> None:  # pragma: no cover - rejected
        pass

    async with client_for(ami.port) as client:
        with pytest.raises(TypeError, match="async def"):
            client.on_event("Hangup", plain)  # type: ignore[arg-type]
        client.on_event("Hangup", on_hangup)
        ami.emit(Event="Newchannel", Channel="PJSIP/x-1")
        ami.emit(
            Event="Hangup", Channel="PJSIP/x-1", Cause="16", **{"Cause-txt": "Normal Clearing"}
        )
        msg = await asyncio.wait_for(got.get(), 2)
        assert msg["Channel"] == "PJSIP/x-1" and msg["cause-txt"] == "Normal Clearing"


async def test_reconnects_after_the_connection_is_cut(ami: FakeAmi) -> None:
    async with TcpProxy("127.0.0.1", ami.port) as proxy, client_for(proxy.port) as client:
        await client.db_put("f", "k", "v")
        proxy.refuse = True
        await proxy.cut()
        with pytest.raises(AmiConnectionError):
            await client.ping()
        assert client.health.state is AmiState.RECONNECTING
        proxy.refuse = False
        await client.wait_connected(5)
        assert client.health.connects == 2 and ami.logins == 2
        assert await client.db_get("f", "k") == "v"


async def test_junk_between_messages_is_skipped(
    ami: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "ivr_engine.asterisk.ami")
    async with TcpProxy("127.0.0.1", ami.port) as proxy, client_for(proxy.port) as client:
        proxy.inject(b"complete garbage\r\nno colon here\r\n\r\n")
        assert await client.ping() >= 0
        assert client.health.connects == 1
        assert "neither a response nor an event" in caplog.text


async def _greets(port: int) -> bool:
    """Whether something on ``port`` sends the AMI banner."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        line = await asyncio.wait_for(reader.readline(), 2)
    except TimeoutError:
        line = b""
    writer.close()
    return line.startswith(b"Asterisk Call Manager/")


async def test_against_the_simulator_ami(sim: Simulator) -> None:
    """The client against the simulator's AMI: the banner, a refused login, AstDB, and
    originates whose outcome the scripted world decides (answered: Success, reason 4;
    busy: Failure, reason 5)."""
    assert await _greets(sim.ami_port)
    refused = client_for(sim.ami_port, secret="wrong")
    with pytest.raises(AmiAuthError):
        await refused.connect()
    await refused.close()
    sim.set_behaviour("01011112222", Behaviour.answer_after(0.5, talk=1.0))
    sim.set_behaviour("01099990000", Behaviour.busy())
    async with client_for(sim.ami_port) as client:
        assert client.version
        await client.db_put("ivr", "k", "v1")
        assert await client.db_get("ivr", "k") == "v1"
        assert await client.db_del("ivr", "k") is True
        assert await client.db_get("ivr", "k") is None
        answered = await client.originate(
            "PJSIP/01011112222@carrier",
            application="Playback",
            data="hello-world",
            ring_timeout_ms=30000,
        )
        assert (answered["Event"], answered["Response"], answered["Reason"]) == (
            "OriginateResponse",
            "Success",
            "4",
        )
        busy = await client.originate(
            "PJSIP/01099990000@carrier", application="Playback", data="beep"
        )
        assert (busy["Event"], busy["Response"], busy["Reason"]) == (
            "OriginateResponse",
            "Failure",
            "5",
        )
