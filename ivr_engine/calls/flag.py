"""A small asyncio flag for per-channel states (answered, gone) that live as long as a call.

``asyncio.Event`` allocates a deque for its waiters up front (about 700 bytes with the
event's own dict); a call holds several such flags for its whole life, most of them never
awaited. ``Flag`` keeps the same ``is_set`` / ``set`` / ``clear`` / ``wait`` interface in
two slots, allocates only when someone waits, and can also call back at once whoever is
racing against it (``add_callback``), without a task per wait.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Literal


def _wake(future: asyncio.Future[bool]) -> None:
    """Resolve a waiter's future, unless it was cancelled meanwhile."""
    if not future.done():
        future.set_result(True)


class Flag:
    """A flag set once (or cleared and set again) that coroutines can wait for."""

    __slots__ = ("_callbacks", "_value")

    def __init__(self) -> None:
        self._value = False
        self._callbacks: list[Callable[[], None]] | None = None

    def __repr__(self) -> str:
        return f"<Flag {'set' if self._value else 'unset'}>"

    def is_set(self) -> bool:
        """True once set (until cleared)."""
        return self._value

    def set(self) -> None:
        """Set the flag: every waiter wakes up and every callback is called, once."""
        if not self._value:
            self._value = True
            callbacks, self._callbacks = self._callbacks, None
            if callbacks:
                for callback in callbacks:
                    callback()

    def clear(self) -> None:
        """Unset the flag; waiters from now on wait for the next ``set``."""
        self._value = False

    async def wait(self) -> Literal[True]:
        """Return once the flag is set (at once when it is)."""
        if self._value:
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        wake = functools.partial(_wake, future)
        self.add_callback(wake)
        try:
            await future
            return True
        finally:
            self.discard_callback(wake)

    def add_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the flag is next set (``discard_callback`` takes it back)."""
        if self._callbacks is None:
            self._callbacks = [callback]
        else:
            self._callbacks.append(callback)

    def discard_callback(self, callback: Callable[[], None]) -> None:
        """Forget a callback not called yet (nothing when it was called or is unknown; the
        very object given to ``add_callback``: callbacks are told apart by identity)."""
        callbacks = self._callbacks
        if callbacks is not None:
            for i, known in enumerate(callbacks):
                if known is callback:
                    del callbacks[i]
                    if not callbacks:
                        self._callbacks = None
                    return


def never() -> asyncio.Future[None]:
    """A future nothing resolves: what ``race()`` awaits to wait only for a hangup or a
    timeout (a bare future, not an event, a deque and a coroutine)."""
    return asyncio.get_running_loop().create_future()
