"""A TCP proxy for tests: sits between a client and a server and misbehaves on request.

Modelled on asyncpg's fuzzing proxy. Tests use it to cut live connections (both sides, as a
network failure would), refuse new ones for a while, add latency, and inject bytes into the
server-to-client direction (junk, or a crafted WebSocket frame). Waiting is on events
(``wait_connections``), never on sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)

_CHUNK = 65536


def ws_text_frame(text: str) -> bytes:
    """An unmasked (server-to-client) WebSocket text frame carrying ``text``."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes([0x81, size])
    elif size < 65536:
        header = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return header + payload


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side, the server side and their two pumps."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        """Drop both sides at once, without a graceful close."""
        for writer in (self.client, self.server):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()


class TcpProxy:
    """Forwards ``listen`` -> ``target``; ``cut()``, ``refuse``, ``delay``, ``inject()``."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        target_unix: str | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.target_unix = target_unix  # forward to a Unix socket instead (e.g. Postgres)
        self.listen = (listen_host, listen_port)
        self.delay = 0.0
        self.refuse = False
        self.accepted = 0
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Condition()

    @property
    def port(self) -> int:
        """The port clients should connect to."""
        assert self._server is not None, "start() the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def host(self) -> str:
        """The host clients should connect to."""
        return self.listen[0]

    @property
    def active(self) -> int:
        """How many proxied connections are open now."""
        return len(self._links)

    async def start(self) -> TcpProxy:
        """Listen for clients."""
        self._server = await asyncio.start_server(self._accept, *self.listen)
        return self

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        await self.cut()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def cut(self) -> int:
        """Abort every live connection (both sides); returns how many were cut."""
        links = list(self._links)
        for link in links:
            link.abort()
        for link in links:
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)
        return len(links)

    def inject(self, data: bytes) -> int:
        """Write ``data`` to every client as if the server had sent it; returns clients hit."""
        for link in self._links:
            link.client.write(data)
        return len(self._links)

    async def wait_connections(self, accepted: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``accepted`` connections in total have been proxied."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.accepted >= accepted)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Connect to the target and pump both ways until either side ends."""
        if self.refuse:
            writer.transport.abort()
            return
        try:
            if self.target_unix is not None:
                s_reader, s_writer = await asyncio.open_unix_connection(self.target_unix)
            else:
                s_reader, s_writer = await asyncio.open_connection(*self.target)
        except OSError as exc:
            log.info("proxy: target %s:%s unreachable: %s", *self.target, exc)
            writer.transport.abort()
            return
        link = _Link(writer, s_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(reader, s_writer)),
            asyncio.create_task(self._pump(s_reader, writer)),
        ]
        async with self._changed:
            self.accepted += 1
            self._changed.notify_all()
        try:
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.abort()
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)
            self._links.discard(link)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy bytes one way, with the configured delay per chunk."""
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(_CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()


@contextlib.asynccontextmanager
async def database_proxy(db_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A started proxy in front of a PostgreSQL database (TCP, or the embedded server's
    Unix socket) and the URL that reaches the database through it; stopped afterwards."""
    parts = urlsplit(db_url)
    query = dict(parse_qsl(parts.query))
    if parts.port:
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port)
    else:  # the embedded server listens on a Unix socket
        sock = f"{query.pop('host')}/.s.PGSQL.{query.pop('port', '5432')}"
        proxy = TcpProxy("", 0, target_unix=sock)
    async with proxy:
        user = parts.username or "postgres"
        netloc = f"{user}@127.0.0.1:{proxy.port}"
        yield proxy, urlunsplit(("postgresql", netloc, parts.path, urlencode(query), ""))
