"""The test TCP proxy: forwarding, cutting, refusing, injecting, delaying."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.support.tcp_proxy import TcpProxy, ws_text_frame


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with TcpProxy("127.0.0.1", port) as p:
        yield p
    server.close()
    await server.wait_closed()


async def _roundtrip(proxy: TcpProxy, payload: bytes) -> tuple[bytes, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    writer.write(payload)
    return await asyncio.wait_for(reader.readexactly(len(payload)), 2), writer


async def test_forwards_both_ways(proxy: TcpProxy) -> None:
    echoed, writer = await _roundtrip(proxy, b"hello through the proxy")
    assert echoed == b"hello through the proxy"
    await proxy.wait_connections(1)
    assert proxy.active == 1
    writer.close()


async def test_cut_drops_live_connections_and_new_ones_work(proxy: TcpProxy) -> None:
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    await proxy.wait_connections(1)
    assert await proxy.cut() == 1
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(10), 2) == b""
    echoed, w2 = await _roundtrip(proxy, b"again")
    assert echoed == b"again"
    writer.close()
    w2.close()


async def test_refuse_then_restore(proxy: TcpProxy) -> None:
    proxy.refuse = True
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(10), 2) == b""
    writer.close()
    proxy.refuse = False
    echoed, w2 = await _roundtrip(proxy, b"back")
    assert echoed == b"back"
    w2.close()


async def test_inject_reaches_the_client_only(proxy: TcpProxy) -> None:
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    await proxy.wait_connections(1)
    assert proxy.inject(b"junk!") == 1
    assert await asyncio.wait_for(reader.readexactly(5), 2) == b"junk!"
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"ping"
    writer.close()


async def test_delay_applies_per_chunk(proxy: TcpProxy) -> None:
    proxy.delay = 0.05
    loop = asyncio.get_running_loop()
    started = loop.time()
    echoed, writer = await _roundtrip(proxy, b"slow")
    assert echoed == b"slow"
    assert loop.time() - started >= 0.1  # one delay each way
    writer.close()


def test_ws_text_frame_layout() -> None:
    assert ws_text_frame("hi") == b"\x81\x02hi"
    long = ws_text_frame("x" * 300)
    assert long[:4] == b"\x81\x7e\x01\x2c" and len(long) == 304
