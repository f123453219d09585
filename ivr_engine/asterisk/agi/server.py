"""An asyncio FastAGI server: Asterisk's ``AGI(agi://host:port/<script>)`` connects here.

One task per connection. The server reads the ``agi_*`` environment block, picks the handler
registered for the script name (``route`` for ``agi://127.0.0.1:4573/route``) and gives it an
AgiChannel to send commands on. When the handler returns, the connection is closed, which
ends ``AGI()`` with ``AGISTATUS=SUCCESS`` and the dialplan goes on.

Nothing a peer sends can crash the server: garbage instead of the environment, an unknown
script, a connection dropped half-way, ``HANGUP``, error replies and handler failures each end
that one connection with a log line saying what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from ivr_engine.asterisk.agi.protocol import (
    MAX_ENV_LINES,
    AgiCommandError,
    AgiConnectionLost,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiReply,
    AgiRequest,
    HangupNotice,
    ReplyParser,
    format_command,
    parse_env_line,
    request_from_env,
)
from ivr_engine.logs import mask_phone_text

log = logging.getLogger(__name__)

LINE_LIMIT = 16 * 1024  # bytes per line; Asterisk's own buffer is 2 KiB (AGI_BUF_LEN)

AgiHandler = Callable[["AgiChannel"], Awaitable[None]]


class AgiChannel:
    """One FastAGI connection, i.e. one channel running ``AGI()``: send commands, read replies.

    Commands are sent one at a time. After a ``HANGUP`` notice every command raises AgiHangup
    (the handler should stop: the dialplan does not continue on a hung-up channel).
    """

    def __init__(
        self,
        request: AgiRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str = "",
        command_timeout: float | None = 10.0,
    ) -> None:
        self.request = request
        self.peer = peer
        self.command_timeout = command_timeout
        self.hung_up = False
        self.commands_sent = 0
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()

    async def command(
        self,
        command: str,
        *args: str | int,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AgiReply:
        """Send one command (``command`` = its words, e.g. ``SET VARIABLE``; ``args`` quoted
        as needed) and return its ``200`` reply. Raises AgiHangup, AgiCommandError (510 /
        511 / 520), AgiConnectionLost, AgiProtocolError, or TimeoutError after ``timeout``
        seconds (default: the channel's ``command_timeout``)."""
        line = format_command(command, *args)
        limit = self.command_timeout if timeout is None else timeout
        async with self._lock:
            if self.hung_up:
                raise AgiHangup(f"channel hung up; {command} not sent")
            try:
                self._writer.write(line.encode("utf-8"))
                await self._writer.drain()
            except (ConnectionError, RuntimeError) as exc:
                raise AgiConnectionLost(f"sending {command}: {exc}") from exc
            self.commands_sent += 1
            async with asyncio.timeout(limit):
                return await self._read_reply(command)

    async def _read_reply(self, command: str) -> AgiReply:
        """Lines until the reply to ``command`` is complete."""
        parser = ReplyParser()
        while True:
            out = parser.feed(await read_line(self._reader, f"the reply to {command}"))
            if isinstance(out, HangupNotice):
                self.hung_up = True
                raise AgiHangup(f"channel hung up while waiting for the reply to {command}")
            if out is not None:
                return out

    async def set_variable(self, name: str, value: str) -> None:
        """``SET VARIABLE name value`` (an empty value clears the variable)."""
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        """``GET VARIABLE name``: the value, or None when the variable is not set."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" and reply.data is not None else None

    async def verbose(self, message: str, level: int = 1) -> None:
        """``VERBOSE "message" level``: a line on the Asterisk console (level 1-4)."""
        await self.command("VERBOSE", message, level)


async def read_line(reader: asyncio.StreamReader, what: str) -> str:
    """The next line without its line end; AgiConnectionLost at end of stream (or a line cut
    short by it), AgiProtocolError for an over-long line."""
    try:
        raw = await reader.readline()
    except ValueError as exc:  # the line exceeds the stream limit
        raise AgiProtocolError(f"line longer than {LINE_LIMIT} bytes while reading {what}") from exc
    except ConnectionError as exc:
        raise AgiConnectionLost(f"connection broke while reading {what}: {exc}") from exc
    if not raw.endswith(b"\n"):
        raise AgiConnectionLost(f"end of stream while reading {what}")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def read_request(reader: asyncio.StreamReader) -> AgiRequest:
    """Read the environment block up to its empty line and parse it."""
    env: dict[str, str] = {}
    count = 0
    while line := await read_line(reader, "the AGI environment"):
        count += 1
        if count > MAX_ENV_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")
        key, value = parse_env_line(line)  # garbage is refused on its first line
        env[key] = value
    return request_from_env(env)


class AgiServer:
    """Serves FastAGI connections; ``handlers`` maps script names to handlers."""

    def __init__(
        self,
        handlers: Mapping[str, AgiHandler],
        *,
        env_timeout: float = 5.0,
        command_timeout: float | None = 10.0,
    ) -> None:
        self.handlers = dict(handlers)
        self.env_timeout = env_timeout
        self.command_timeout = command_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.served = 0  # connections that reached a handler
        self.refused = 0  # connections closed before a handler ran

    @property
    def port(self) -> int:
        """The port listened on (the real one when started on port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the AGI server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0: any free port, see ``port``)."""
        self._server = await asyncio.start_server(self._connected, host, port, limit=LINE_LIMIT)
        log.info(
            "FastAGI listening on %s:%s (scripts: %s)",
            host,
            self.port,
            ", ".join(sorted(self.handlers)) or "none",
        )

    async def stop(self) -> None:
        """Stop listening, end the connections in progress and wait for their tasks."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            await server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, in its own task (created by asyncio for each connection)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = _peer_name(writer)
        try:
            await self._serve(reader, writer, peer)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        """Read the environment, find the handler, run it; log how the connection ended."""
        try:
            async with asyncio.timeout(self.env_timeout):
                request = await read_request(reader)
        except (AgiError, TimeoutError) as exc:
            self.refused += 1
            why = "no AGI environment in time" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("FastAGI from %s: %s; connection closed", peer, mask_phone_text(why))
            return
        handler = self.handlers.get(request.script)
        if handler is None:
            self.refused += 1
            log.warning(
                "FastAGI from %s: no script %r on this server (channel %s); connection closed",
                peer,
                request.script[:40],
                request.channel,
            )
            return
        self.served += 1
        channel = AgiChannel(
            request, reader, writer, peer=peer, command_timeout=self.command_timeout
        )
        await self._run(handler, channel)

    async def _run(self, handler: AgiHandler, channel: AgiChannel) -> None:
        """Run a handler; every way it can fail ends in one log line."""
        req = channel.request
        where = f"FastAGI {req.script} on {req.channel or channel.peer} [{req.uniqueid or '-'}]"
        try:
            await handler(channel)
        except AgiHangup:
            log.info(
                "%s: the channel hung up after %d command(s); connection closed",
                where,
                channel.commands_sent,
            )
        except AgiConnectionLost as exc:
            log.warning("%s: Asterisk closed the connection (%s)", where, exc)
        except AgiCommandError as exc:
            log.warning("%s: command refused: %s; connection closed", where, exc)
        except AgiProtocolError as exc:
            log.warning("%s: %s; connection closed", where, mask_phone_text(str(exc)))
        except TimeoutError:
            log.warning(
                "%s: no reply from Asterisk within %ss; connection closed",
                where,
                channel.command_timeout,
            )
        except Exception:
            log.exception("%s: handler failed; connection closed", where)


async def start_agi_server(
    handlers: Mapping[str, AgiHandler],
    host: str,
    port: int,
    *,
    env_timeout: float = 5.0,
    command_timeout: float | None = 10.0,
) -> AgiServer | None:
    """A started AgiServer, or None when ``host:port`` cannot be bound (logged: the engine
    serves ARI calls without FastAGI, e.g. when another engine on this host holds the port)."""
    server = AgiServer(handlers, env_timeout=env_timeout, command_timeout=command_timeout)
    try:
        await server.start(host, port)
    except OSError as exc:
        log.error(
            "FastAGI cannot listen on %s:%s (%s): calls sent to AGI(agi://...) will "
            "take the dialplan's fallback",
            host,
            port,
            exc,
        )
        return None
    return server


def _peer_name(writer: asyncio.StreamWriter) -> str:
    """``host:port`` of the peer, for log lines."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
