"""The per-channel command queue of ``res/stasis/control.c``.

Each Stasis channel runs its commands strictly in order. A playback occupies the queue until
it ends, so an ``answer``, ``addChannel`` or ``POST variable`` sent meanwhile is held (and its
HTTP reply with it). DELETE of a playback or of the channel does not go through the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any


class ChannelGone(Exception):
    """The channel hung up before a queued command could run."""


Command = Callable[[], Awaitable[Any]]


class ChannelControl:
    """Runs one channel's commands in order on one task."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: asyncio.Queue[tuple[Command, asyncio.Future[Any]]] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"control-{name}")
        self.busy = False
        self._current: asyncio.Future[Any] | None = None
        self.submitted = asyncio.Event()  # set by every submit (tests wait on it)

    @property
    def pending(self) -> int:
        """Commands waiting behind the one running (e.g. an answer behind a playback)."""
        return self._queue.qsize()

    def submit(self, command: Command) -> asyncio.Future[Any]:
        """Queue a command; the returned future resolves with its result once it has run."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._task.done():
            future.set_exception(ChannelGone(self.name))
            future.exception()  # mark retrieved: callers that do not wait must not warn
        else:
            self._queue.put_nowait((command, future))
        self.submitted.set()
        return future

    async def _run(self) -> None:
        while True:
            command, future = await self._queue.get()
            if future.done():
                continue
            self.busy = True
            self._current = future
            try:
                result = await command()
            except ChannelGone as exc:
                if not future.done():
                    future.set_exception(exc)
                    future.exception()
            except Exception as exc:  # a failing command must not stop the queue
                if not future.done():
                    future.set_exception(exc)
                    future.exception()
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self.busy = False
                self._current = None

    def close(self) -> None:
        """Stop the queue: the running and pending commands fail with ChannelGone."""
        self._task.cancel()
        pending = [self._current] if self._current is not None else []
        while not self._queue.empty():
            pending.append(self._queue.get_nowait()[1])
        for future in pending:
            if not future.done():
                future.set_exception(ChannelGone(self.name))
                future.exception()

    async def wait_closed(self) -> None:
        """Wait until the queue's task has finished (after close())."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
