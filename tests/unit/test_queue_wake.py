"""Waking the callers waiting in a queue: a caller that has looked at the agents and is
about to pause must not miss an agent becoming ready in between."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from ivr_engine.calls.legs import LegWatch
from ivr_engine.calls.queue import QueueCall
from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.domain.queue_doc import QueueConfig

# A pause makes no database call: the repositories are never used.
NO_DATABASE: Any = None


def waiting_call(runtime: QueueRuntime) -> QueueCall:
    """A queue call of a caller who stays on the line (no I/O is made by a pause)."""
    session: Any = SimpleNamespace(
        env=SimpleNamespace(),
        watch=LegWatch("caller", None),  # type: ignore[arg-type]
        now=lambda: datetime(2026, 11, 20, 3, tzinfo=UTC),
    )
    return QueueCall(session, runtime, QueueConfig("support"), "tenant")


async def test_a_notify_before_the_pause_ends_it_at_once() -> None:
    runtime = QueueRuntime(agents=NO_DATABASE, calls=NO_DATABASE, speed=1.0)
    call = waiting_call(runtime)
    wake = runtime.wake  # taken when the caller looked at the agents
    runtime.notify()  # an agent became ready before the caller paused
    await asyncio.wait_for(call._pause(wake, 3600), 5)


async def test_a_notify_during_the_pause_ends_it() -> None:
    runtime = QueueRuntime(agents=NO_DATABASE, calls=NO_DATABASE, speed=1.0)
    call = waiting_call(runtime)
    pause = asyncio.create_task(call._pause(runtime.wake, 3600))
    await asyncio.sleep(0)  # the pause is waiting
    assert not pause.done()
    runtime.notify()
    await asyncio.wait_for(pause, 5)


async def test_the_callback_key_ends_the_pause() -> None:
    runtime = QueueRuntime(agents=NO_DATABASE, calls=NO_DATABASE, speed=1.0)
    call = waiting_call(runtime)
    pause = asyncio.create_task(call._pause(runtime.wake, 3600))
    call.key_pressed.set()
    await asyncio.wait_for(pause, 5)
