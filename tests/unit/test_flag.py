"""The per-channel flag: asyncio.Event's behaviour, callbacks, no waiter left behind."""

from __future__ import annotations

import asyncio

from ivr_engine.calls.flag import Flag, never


async def test_wait_returns_once_set_and_at_once_when_set() -> None:
    flag = Flag()
    waiter = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await waiter is True
    assert flag.is_set() and await flag.wait() is True


async def test_callbacks_are_called_once_and_can_be_removed() -> None:
    flag, calls = Flag(), []
    flag.add_callback(lambda: calls.append("a"))
    flag.add_callback(b := lambda: calls.append("b"))
    flag.discard_callback(b)
    flag.set()
    flag.set()
    assert calls == ["a"]
    flag.discard_callback(b)  # harmless after the flag was set


async def test_a_cancelled_wait_leaves_no_callback() -> None:
    flag = Flag()
    waiter = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert not flag._callbacks


async def test_clear_makes_new_waiters_wait_for_the_next_set() -> None:
    flag = Flag()
    flag.set()
    flag.clear()
    waiter = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await waiter


async def test_never_resolves_until_cancelled() -> None:
    future = never()
    assert not future.done()
    future.cancel()
    assert future.cancelled()
