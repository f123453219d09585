"""AMI wire facts over a raw TCP socket (section B, banner from H)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ivr_engine.sim import Behaviour
from tests.fidelity.conftest import Target


class RawAmi:
    """A raw AMI connection reading whole messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, text: str) -> None:
        """Write raw text."""
        self.writer.write(text.encode())
        await self.writer.drain()

    async def message(self, timeout: float = 5.0) -> dict[str, str]:  # noqa: ASYNC109
        """The next message as a dict with lower-cased keys ({} at EOF)."""
        out: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while True:
                line = (await self.reader.readline()).decode()
                if not line:
                    return out
                if line in ("\r\n", "\n"):
                    if out:
                        return out
                    continue
                key, _, value = line.partition(":")
                out[key.strip().lower()] = value.strip()

    async def until(self, pred: object, timeout: float = 5.0) -> dict[str, str]:  # noqa: ASYNC109
        """Skip messages until one matches."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.message(timeout)
                assert msg, "connection closed"
                if pred(msg):  # type: ignore[operator]
                    return msg


@pytest.fixture
async def ami(target: Target) -> AsyncIterator[tuple[RawAmi, str, str, str]]:
    """A connected raw AMI socket (banner read) and the credentials."""
    assert target.ami is not None
    host, port, user, secret = target.ami
    reader, writer = await asyncio.open_connection(host, port)
    banner = await reader.readline()
    assert banner.startswith(b"Asterisk Call Manager/") and banner.endswith(b"\r\n")
    yield RawAmi(reader, writer), banner.decode(), user, secret
    writer.close()


async def login(conn: RawAmi, user: str, secret: str) -> None:
    """Log in and consume FullyBooted."""
    await conn.send(f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\nActionID: 1\r\n\r\n")
    reply = await conn.message()
    assert reply == {"response": "Success", "actionid": "1", "message": "Authentication accepted"}
    booted = await conn.message()
    assert booted["event"] == "FullyBooted" and booted["status"] == "Fully Booted"


async def test_banner_is_11(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    target.need_sim()
    assert ami[1] == "Asterisk Call Manager/11.0.0\r\n"


async def test_bad_secret_fails_and_closes(ami) -> None:  # type: ignore[no-untyped-def]
    conn, _, user, _ = ami
    await conn.send(f"Action: Login\r\nUsername: {user}\r\nSecret: wrong\r\n\r\n")
    reply = await conn.message()
    assert (reply["response"], reply["message"]) == ("Error", "Authentication failed")
    assert await conn.message() == {}


async def test_actions_before_login_are_denied(ami) -> None:  # type: ignore[no-untyped-def]
    conn = ami[0]
    await conn.send("Action: Ping\r\nActionID: 7\r\n\r\n")
    assert await conn.message() == {
        "response": "Error",
        "actionid": "7",
        "message": "Permission denied",
    }


async def test_ping_lf_line_ends_case_and_garbage(ami) -> None:  # type: ignore[no-untyped-def]
    conn, _, user, secret = ami
    await login(conn, user, secret)
    await conn.send("this is garbage\nACTION: ping\nactionid: p1\n\n")
    reply = await conn.message()
    assert (reply["response"], reply["ping"], reply["actionid"]) == ("Success", "Pong", "p1")
    assert float(reply["timestamp"]) > 0


async def test_unknown_and_missing_action(ami) -> None:  # type: ignore[no-untyped-def]
    conn, _, user, secret = ami
    await login(conn, user, secret)
    await conn.send("Action: NoSuchThing\r\n\r\n")
    reply = await conn.message()
    assert reply["response"] == "Error"
    assert reply["message"].startswith("Invalid/unknown command: NoSuchThing.")
    await conn.send("ActionID: 9\r\n\r\n")
    assert (await conn.message())["message"] == "Missing action in request"


async def test_astdb_put_get_del(ami) -> None:  # type: ignore[no-untyped-def]
    conn, _, user, secret = ami
    await login(conn, user, secret)
    await conn.send("Action: DBPut\r\nFamily: fid\r\nKey: k\r\nVal: v1\r\nActionID: a\r\n\r\n")
    assert (await conn.message())["message"] == "Updated database successfully"
    await conn.send("Action: DBGet\r\nFamily: fid\r\nKey: k\r\nActionID: b\r\n\r\n")
    ack = await conn.message()
    assert (ack["response"], ack["eventlist"], ack["message"]) == (
        "Success",
        "start",
        "Result will follow",
    )
    item = await conn.message()
    assert (item["event"], item["family"], item["key"], item["val"], item["actionid"]) == (
        "DBGetResponse",
        "fid",
        "k",
        "v1",
        "b",
    )
    done = await conn.message()
    assert (done["event"], done["eventlist"], done["listitems"]) == (
        "DBGetComplete",
        "Complete",
        "1",
    )
    await conn.send("Action: DBDel\r\nFamily: fid\r\nKey: k\r\n\r\n")
    assert (await conn.message())["message"] == "Key deleted successfully"
    await conn.send("Action: DBGet\r\nFamily: fid\r\nKey: k\r\n\r\n")
    assert (await conn.message())["message"] == "Database entry not found"


async def test_originate_async_response_and_channel_events(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    sim = target.need_sim()
    sim.set_behaviour("01077770001", Behaviour.answer_after(0.5))
    sim.set_behaviour("01077770002", Behaviour.busy())
    conn, _, user, secret = ami
    await login(conn, user, secret)
    await conn.send(
        "Action: Originate\r\nChannel: PJSIP/01077770001@carrier\r\nExten: s\r\n"
        "Context: default\r\nTimeout: 5000\r\nAsync: true\r\nActionID: o1\r\n\r\n"
    )
    assert (await conn.until(lambda m: m.get("actionid") == "o1"))[
        "message"
    ] == "Originate successfully queued"
    newstate = await conn.until(
        lambda m: m.get("event") == "Newstate" and m.get("channelstatedesc") == "Up"
    )
    assert {"channel", "channelstate", "calleridnum", "uniqueid", "linkedid"} <= set(newstate)
    resp = await conn.until(lambda m: m.get("event") == "OriginateResponse")
    assert (resp["response"], resp["reason"], resp["actionid"]) == ("Success", "4", "o1")
    await conn.send(
        "Action: Originate\r\nChannel: PJSIP/01077770002@carrier\r\nExten: s\r\n"
        "Async: yes\r\nActionID: o2\r\n\r\n"
    )
    resp = await conn.until(lambda m: m.get("event") == "OriginateResponse")
    assert (resp["response"], resp["reason"]) == ("Failure", "5")


async def test_core_show_channels_list(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    sim = target.need_sim()
    sim.astdb["ivr-fallback/0505"] = "01066660000"
    sim.set_behaviour("01066660000", Behaviour.no_answer())
    call = await sim.place_call(to="0505", caller="010", app="nobody-here")
    conn, _, user, secret = ami
    await login(conn, user, secret)
    await conn.send("Action: CoreShowChannels\r\nActionID: c\r\n\r\n")
    ack = await conn.until(lambda m: m.get("actionid") == "c")
    assert ack["eventlist"] == "start"
    items = []
    while True:
        msg = await conn.until(lambda m: m.get("actionid") == "c")
        if msg["event"] == "CoreShowChannelsComplete":
            break
        items.append(msg)
    assert msg["listitems"] == str(len(items)) and msg["eventlist"] == "Complete"
    assert {i["uniqueid"] for i in items} >= {call.channel_id, *call.callees()}
    assert len(items) >= 2
    assert all(i["event"] == "CoreShowChannel" and "duration" in i for i in items)
    await call.hangup()


async def test_logoff_says_goodbye(ami) -> None:  # type: ignore[no-untyped-def]
    conn, _, user, secret = ami
    await login(conn, user, secret)
    await conn.send("Action: Logoff\r\n\r\n")
    assert (await conn.message())["response"] == "Goodbye"
    assert await conn.message() == {}


ONLY_ORIGINATE = "^Event: (OriginateResponse)[[:space:]]"


async def originate_and_collect(conn: RawAmi, number: str, aid: str) -> list[dict[str, str]]:
    """Originate an answered leg; every message up to its OriginateResponse."""
    await conn.send(
        f"Action: Originate\r\nChannel: PJSIP/{number}@carrier\r\nExten: s\r\n"
        f"Context: default\r\nTimeout: 5000\r\nAsync: true\r\nActionID: {aid}\r\n\r\n"
    )
    seen = []
    while True:
        msg = await conn.message()
        assert msg, "connection closed"
        seen.append(msg)
        if msg.get("event") == "OriginateResponse":
            return seen


async def add_filter(conn: RawAmi, pattern: str, criteria: str = "") -> dict[str, str]:
    """Send Filter Operation: Add; its reply."""
    match = f"MatchCriteria: {criteria}\r\n" if criteria else ""
    await conn.send(
        f"Action: Filter\r\nOperation: Add\r\n{match}Filter: {pattern}\r\nActionID: f\r\n\r\n"
    )
    return await conn.message()


async def second(target: Target) -> RawAmi:
    """Another logged-in raw connection."""
    assert target.ami is not None
    host, port, user, secret = target.ami
    reader, writer = await asyncio.open_connection(host, port)
    await reader.readline()
    conn = RawAmi(reader, writer)
    await login(conn, user, secret)
    return conn


async def test_filter_include_passes_only_matching_events(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    sim = target.need_sim()
    sim.set_behaviour("01077770011", Behaviour.answer_after(0.2))
    conn, _, user, secret = ami
    await login(conn, user, secret)
    assert await add_filter(conn, ONLY_ORIGINATE) == {
        "response": "Success",
        "actionid": "f",
        "message": "Success",
    }
    unfiltered = await second(target)
    seen = await originate_and_collect(conn, "01077770011", "o1")
    events = [m["event"] for m in seen if "event" in m]
    assert events == ["OriginateResponse"]
    assert seen[-1]["actionid"] == "o1"
    others = []
    while (msg := await unfiltered.message()).get("event") != "OriginateResponse":
        others.append(msg.get("event"))
    assert {"Newchannel", "DialBegin", "Newstate", "DialEnd"} <= set(others)
    unfiltered.writer.close()


async def test_filter_exclude_and_replies_pass_any_filter(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    sim = target.need_sim()
    sim.set_behaviour("01077770012", Behaviour.answer_after(0.2))
    conn, _, user, secret = ami
    await login(conn, user, secret)
    assert (await add_filter(conn, "!Event: Newchannel"))["response"] == "Success"
    events = [m.get("event") for m in await originate_and_collect(conn, "01077770012", "o2")]
    assert "Newchannel" not in events and "Newstate" in events
    assert (await add_filter(conn, "^Event: Nothing[[:space:]]"))["response"] == "Success"
    await conn.send("Action: Ping\r\nActionID: p\r\n\r\n")
    assert (await conn.message())["ping"] == "Pong"
    await conn.send("Action: DBPut\r\nFamily: f\r\nKey: k\r\nVal: v\r\n\r\n")
    await conn.message()
    await conn.send("Action: DBGet\r\nFamily: f\r\nKey: k\r\nActionID: g\r\n\r\n")
    await conn.message()
    assert (await conn.message())["event"] == "DBGetResponse"


async def test_filter_replies_for_bad_filters(ami) -> None:  # type: ignore[no-untyped-def]
    conn, _, user, secret = ami
    await login(conn, user, secret)
    bad = await add_filter(conn, "XX[X")
    assert (bad["response"], bad["message"]) == (
        "Error",
        "Filter did not compile.  Check the syntax of the filter given.",
    )
    empty = await add_filter(conn, "!")
    assert empty["message"] == (
        "Filter was formatted incorrectly.  Check the syntax of the filter given."
    )
    assert (await add_filter(conn, "", "name(OriginateResponse)"))["response"] == "Success"
    await conn.send("Action: Filter\r\nOperation: Remove\r\nFilter: x\r\n\r\n")
    assert (await conn.message())["message"] == "Unknown operation"


async def test_filter_needs_write_system(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    sim = target.need_sim()
    assert sim.ami is not None
    sim.ami.write = sim.ami.write - {"system"}
    conn, _, user, secret = ami
    await login(conn, user, secret)
    reply = await add_filter(conn, ONLY_ORIGINATE)
    assert (reply["response"], reply["message"]) == ("Error", "Permission denied")


async def test_eventmask_by_class(ami, target: Target) -> None:  # type: ignore[no-untyped-def]
    sim = target.need_sim()
    sim.set_behaviour("01077770013", Behaviour.answer_after(0.2))
    conn, _, user, secret = ami
    await conn.send(
        f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\nEvents: system,agent\r\n\r\n"
    )
    assert (await conn.message())["message"] == "Authentication accepted"
    assert (await conn.message())["event"] == "FullyBooted"  # system class: sent at login
    watcher = await second(target)
    await conn.send(
        "Action: Originate\r\nChannel: PJSIP/01077770013@carrier\r\nExten: s\r\n"
        "Async: true\r\nActionID: o3\r\n\r\n"
    )
    assert (await conn.message())["message"] == "Originate successfully queued"
    await watcher.until(lambda m: m.get("event") == "OriginateResponse")
    await conn.send("Action: Ping\r\nActionID: p\r\n\r\n")
    assert (await conn.message())["actionid"] == "p"  # no call-class event before it
    await conn.send("Action: Events\r\nEventMask: off\r\n\r\n")
    assert (await conn.message())["events"] == "Off"
    await conn.send("Action: Events\r\nEventMask: call\r\n\r\n")
    assert (await conn.message())["events"] == "On"
    watcher.writer.close()
