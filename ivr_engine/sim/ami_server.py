"""The simulated Asterisk Manager Interface on TCP (``main/manager.c`` framing).

Banner ``Asterisk Call Manager/<version>\\r\\n``; messages are ``Key: value`` lines ended by a
blank line (``\\r\\n`` or ``\\n``; header names case-insensitive; lines without a colon are
ignored). Login (bad secret: ``Authentication failed`` and the connection is closed),
FullyBooted, Ping, Logoff, Events (eventmask by class), Filter (``ami_filter.py``; needs write
permission ``system``), Originate (+ OriginateResponse), DBPut/DBGet/DBDel, CoreShowChannels,
and the call-class events Asterisk 22 sends for ARI calls (Newchannel, Newstate,
NewConnectedLine, DialBegin/DialState/DialEnd, BridgeCreate/Enter/Leave/Destroy,
HangupRequest/SoftHangupRequest, Hangup) with the channel and bridge blocks. Manager events go
through each session's eventmask and filters; replies, list items and the FullyBooted written
at login do not (``process_events`` versus ``astman_append``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ivr_engine.asterisk.constants import OriginateReason, cause_txt
from ivr_engine.sim.ami_filter import (
    ALL,
    EventFilter,
    FilterError,
    parse_filter,
    parse_mask,
    should_send,
)
from ivr_engine.sim.ami_proto import (
    Message,
    channel_block,
    format_message,
    read_message,
    response,
)
from ivr_engine.sim.calls import EndpointError
from ivr_engine.sim.model import Bridge, Channel

if TYPE_CHECKING:
    from ivr_engine.sim.world import World

log = logging.getLogger("ivr_engine.sim.ami")
OPEN_ACTIONS = {"login", "logoff", "challenge"}


class AmiSession:
    """One AMI client connection."""

    def __init__(
        self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.mask: frozenset[str] = ALL
        self.filters: list[EventFilter] = []
        self.closed = False

    def wants(self, category: str, name: str, text: str) -> bool:
        """Whether a manager event goes to this session (read permission, eventmask,
        filters)."""
        return (
            self.authenticated
            and category in self.server.read
            and category in self.mask
            and should_send(self.filters, name, text)
        )

    def send(self, text: str) -> None:
        """Write raw text (a formatted message) to the client."""
        if not self.closed and not self.writer.is_closing():
            self.writer.write(text.encode())

    async def run(self) -> None:
        """Banner, then actions until Logoff, a failed login or EOF."""
        self.send(f"Asterisk Call Manager/{self.server.version}\r\n")
        while not self.closed:
            msg = await read_message(self.reader)
            if msg is None:
                break
            if not msg.headers:
                continue
            await self.dispatch(msg)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

    async def dispatch(self, msg: Message) -> None:
        """Run one action."""
        action = msg.get("action")
        if not action:
            self.send(response(msg, "Error", "Missing action in request"))
            return
        name = action.lower()
        if not self.authenticated and name not in OPEN_ACTIONS:
            self.send(response(msg, "Error", "Permission denied"))
            return
        handler = getattr(self, f"act_{name}", None)
        if handler is None:
            self.send(
                response(
                    msg,
                    "Error",
                    f"Invalid/unknown command: {action}. Use Action: "
                    "ListCommands to show available commands.",
                )
            )
            return
        await handler(msg)

    async def act_login(self, msg: Message) -> None:
        """Login: good secret -> accepted + FullyBooted; bad -> failed and closed."""
        if (msg.get("username"), msg.get("secret")) != (self.server.user, self.server.secret):
            self.send(response(msg, "Error", "Authentication failed"))
            await asyncio.sleep(0)
            self.close()
            return
        self.authenticated = True
        self.mask = parse_mask(msg.get("events"), self.mask)
        self.filters = list(self.server.eventfilters)
        self.send(response(msg, "Success", "Authentication accepted"))
        if "system" in self.mask and "system" in self.server.read:
            uptime = int(time.time() - self.server.started)
            self.send(
                format_message(
                    [
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", str(uptime)),
                        ("LastReload", str(uptime)),
                        ("Status", "Fully Booted"),
                    ]
                )
            )

    async def act_logoff(self, msg: Message) -> None:
        """Logoff: Goodbye, then the connection is closed."""
        self.send(response(msg, "Goodbye", "Thanks for all the fish."))
        self.close()

    async def act_ping(self, msg: Message) -> None:
        """Ping: Pong with a timestamp."""
        self.send(
            response(msg, "Success", None, [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])
        )

    async def act_events(self, msg: Message) -> None:
        """Events EventMask: on / off / a class list; replies Events: On|Off."""
        self.mask = parse_mask(msg.get("eventmask"), self.mask)
        self.send(response(msg, "Success", None, [("Events", "On" if self.mask else "Off")]))

    async def act_filter(self, msg: Message) -> None:
        """Filter Operation: Add, Filter, MatchCriteria (write permission ``system``)."""
        if "system" not in self.server.write:
            self.send(response(msg, "Error", "Permission denied"))
            return
        if msg.get("operation").lower() != "add":
            self.send(response(msg, "Error", "Unknown operation"))
            return
        try:
            self.filters.append(parse_filter(msg.get("matchcriteria"), msg.get("filter")))
        except FilterError as exc:
            self.send(response(msg, "Error", str(exc)))
            return
        self.send(response(msg, "Success", "Success"))

    async def act_dbput(self, msg: Message) -> None:
        """DBPut Family/Key/Val."""
        family, key = msg.get("family"), msg.get("key")
        if not family:
            self.send(response(msg, "Error", "No family specified"))
        elif not key:
            self.send(response(msg, "Error", "No key specified"))
        else:
            self.server.world.astdb[f"{family}/{key}"] = msg.get("val")
            self.send(response(msg, "Success", "Updated database successfully"))

    async def act_dbget(self, msg: Message) -> None:
        """DBGet: list ack, DBGetResponse, DBGetComplete (as Asterisk 13+)."""
        family, key = msg.get("family"), msg.get("key")
        if not family:
            self.send(response(msg, "Error", "No family specified."))
            return
        if not key:
            self.send(response(msg, "Error", "No key specified."))
            return
        value = self.server.world.astdb.get(f"{family}/{key}")
        if value is None:
            self.send(response(msg, "Error", "Database entry not found"))
            return
        aid = msg.action_id_header()
        self.send(response(msg, "Success", "Result will follow", list_flag="start"))
        self.send(
            format_message(
                [("Event", "DBGetResponse"), ("Family", family), ("Key", key), ("Val", value), *aid]
            )
        )
        self.send(
            format_message(
                [("Event", "DBGetComplete"), *aid, ("EventList", "Complete"), ("ListItems", "1")]
            )
        )

    async def act_dbdel(self, msg: Message) -> None:
        """DBDel Family/Key."""
        family, key = msg.get("family"), msg.get("key")
        if not family:
            self.send(response(msg, "Error", "No family specified."))
        elif not key:
            self.send(response(msg, "Error", "No key specified."))
        elif self.server.world.astdb.pop(f"{family}/{key}", None) is None:
            self.send(response(msg, "Error", "Database entry not found"))
        else:
            self.send(response(msg, "Success", "Key deleted successfully"))

    async def act_coreshowchannels(self, msg: Message) -> None:
        """CoreShowChannels: list ack, one CoreShowChannel per channel, Complete + ListItems."""
        world = self.server.world
        aid = msg.action_id_header()
        self.send(response(msg, "Success", "Channels will follow", list_flag="start"))
        chans = list(world.channels.values())
        for ch in chans:
            bridge = world.bridges.get(ch.bridge_id or "")
            peer = (
                next(
                    (
                        world.channels[c]
                        for c in bridge.channels
                        if c != ch.id and c in world.channels
                    ),
                    None,
                )
                if bridge
                else None
            )
            secs = int(world.clock.now() - ch.started_epoch)
            self.send(
                format_message(
                    [
                        ("Event", "CoreShowChannel"),
                        *aid,
                        *channel_block(ch),
                        ("BridgeId", ch.bridge_id or ""),
                        ("Application", ch.app_name),
                        ("ApplicationData", ch.app_data),
                        ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
                        ("BridgedChannel", peer.name if peer else ""),
                        ("BridgedUniqueID", peer.id if peer else ""),
                    ]
                )
            )
        self.send(
            format_message(
                [
                    ("Event", "CoreShowChannelsComplete"),
                    *aid,
                    ("EventList", "Complete"),
                    ("ListItems", str(len(chans))),
                ]
            )
        )

    async def act_originate(self, msg: Message) -> None:
        """Originate (Timeout in ms); with Async an OriginateResponse follows."""
        await self.server.originate(self, msg)

    def close(self) -> None:
        """Close the connection."""
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.close()


class AmiServer:
    """Listens for AMI clients and turns world happenings into AMI events."""

    def __init__(
        self,
        world: World,
        user: str,
        secret: str,
        *,
        version: str = "11.0.0",
        system_name: str = "",
        read: frozenset[str] = ALL,
        write: frozenset[str] = ALL,
        eventfilters: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """``read`` / ``write``: the user's permission classes; ``eventfilters``:
        manager.conf ``eventfilter(criteria) = pattern`` lines of the user."""
        self.world = world
        self.user = user
        self.secret = secret
        self.version = version
        self.system_name = system_name
        self.read, self.write = read, write
        self.eventfilters = [parse_filter(c, p) for c, p in eventfilters]
        self.sent: dict[str, int] = {}  # manager events written, by name
        self.started = time.time()
        self.sessions: set[AmiSession] = set()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        world.observers.append(self.on_world)

    async def start(self, host: str, port: int) -> int:
        """Bind and return the port."""
        self._server = await asyncio.start_server(self._client, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the listener and every session."""
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.sessions.discard(session)
            session.close()
            if task is not None:
                self._tasks.discard(task)

    def broadcast(self, fields: list[tuple[str, str]]) -> None:
        """Queue a manager event (``Event``, ``Privilege`` first) to every session that takes
        it."""
        name, category = fields[0][1], fields[1][1].partition(",")[0]
        text = format_message(fields)
        for session in list(self.sessions):
            if session.wants(category, name, text):
                self.sent[name] = self.sent.get(name, 0) + 1
                session.send(text)

    def on_world(self, what: str, ch: Channel | None, info: dict[str, Any]) -> None:
        """Turn a world happening into the AMI event Asterisk sends for it."""
        head: list[tuple[str, str]] = [("Event", what), ("Privilege", "call,all")]
        if ch is None:
            if what in ("BridgeCreate", "BridgeDestroy"):
                self.broadcast([*head, *bridge_block(info["bridge"])])
            return
        if what in ("Newchannel", "Newstate", "NewConnectedLine"):
            self.broadcast([*head, *channel_block(ch)])
        elif what == "Hangup":
            cause = int(info.get("cause", 16))
            self.broadcast(
                [*head, *channel_block(ch), ("Cause", str(cause)), ("Cause-txt", cause_txt(cause))]
            )
        elif what in ("HangupRequest", "SoftHangupRequest"):
            extra = [
                (header, str(info[key]))
                for key, header in (("cause", "Cause"), ("tech_cause", "TechCause"))
                if info.get(key) is not None
            ]
            self.broadcast([*head, *channel_block(ch), *extra])
        elif what in ("DialBegin", "DialState", "DialEnd"):
            caller = info.get("caller")
            fields = [
                *head,
                *(channel_block(caller) if caller else []),
                *channel_block(ch, "Dest"),
            ]
            if what == "DialBegin":
                fields.append(("DialString", ch.dialstring or "unknown"))
            else:
                fields.append(("DialStatus", str(info.get("status", ""))))
            self.broadcast(fields)
        elif what in ("BridgeEnter", "BridgeLeave"):
            self.broadcast([*head, *bridge_block(info["bridge"]), *channel_block(ch)])

    async def originate(self, session: AmiSession, msg: Message) -> None:
        """Originate a call; reply at once (Async) or when it is answered or failed."""
        endpoint = msg.get("channel")
        if not endpoint:
            session.send(response(msg, "Error", "Channel not specified"))
            return
        try:
            timeout_ms = int(msg.get("timeout") or 30000)
        except ValueError:
            session.send(response(msg, "Error", "Invalid timeout"))
            return
        variables = dict(v.partition("=")[::2] for v in msg.all("variable"))
        is_async = msg.get("async", "false").lower() in ("true", "yes", "1", "on")
        try:
            ch = self.world.originate(
                endpoint,
                extension=msg.get("exten") or "s",
                context=msg.get("context") or "default",
                priority=int(msg.get("priority") or 1),
                caller_id=msg.get("callerid"),
                timeout=timeout_ms / 1000.0,
                channel_id=msg.get("channelid") or None,
                variables=variables,
            )
        except (EndpointError, ValueError):
            session.send(response(msg, "Error", "Originate failed"))
            return
        if msg.get("application"):
            ch.pending["application"] = (msg.get("application"), msg.get("data"))
        if is_async:
            session.send(response(msg, "Success", "Originate successfully queued"))
        reason = await self._outcome(ch)
        ok = reason == OriginateReason.ANSWERED
        if not is_async:
            session.send(
                response(
                    msg,
                    "Success" if ok else "Error",
                    "Originate successfully queued" if ok else "Originate failed",
                )
            )
            return
        self.broadcast(
            [
                ("Event", "OriginateResponse"),
                ("Privilege", "call,all"),
                *msg.action_id_header(),
                ("Response", "Success" if ok else "Failure"),
                ("Channel", ch.name),
                ("Context", msg.get("context")),
                ("Exten", msg.get("exten")),
                ("Application", msg.get("application")),
                ("Data", msg.get("data")),
                ("Reason", str(reason)),
                ("Uniqueid", ch.id),
                ("CallerIDNum", ch.caller_number or "<unknown>"),
                ("CallerIDName", ch.caller_name or "<unknown>"),
            ]
        )

    async def _outcome(self, ch: Channel) -> int:
        """Wait for answer or hangup of an originated leg and map it to a Reason code."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def watch(what: str, other: Channel | None, info: dict[str, Any]) -> None:
            if other is not ch or done.done():
                return
            if what == "Newstate" and other.is_up:
                done.set_result(OriginateReason.ANSWERED)
            elif what == "Hangup":
                cause = int(info.get("cause", 0))
                done.set_result(
                    {
                        17: OriginateReason.BUSY,
                        34: OriginateReason.CONGESTION,
                        19: OriginateReason.RINGING,
                    }.get(cause, OriginateReason.HUNG_UP)
                )

        self.world.observers.append(watch)
        try:
            return await done
        finally:
            self.world.observers.remove(watch)


def bridge_block(bridge: Bridge) -> list[tuple[str, str]]:
    """``ast_manager_build_bridge_state_string``: the bridge snapshot block."""
    return [
        ("BridgeUniqueid", bridge.id),
        ("BridgeType", "stasis"),
        ("BridgeTechnology", bridge.technology),
        ("BridgeCreator", "Stasis"),
        ("BridgeName", bridge.name or "<unknown>"),
        ("BridgeNumChannels", str(len(bridge.channels))),
        ("BridgeVideoSourceMode", bridge.video_mode),
    ]
