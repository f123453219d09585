"""The queue runtime keeps the writes the database could not take and writes them later,
in the order they happened."""

from __future__ import annotations

import asyncio
from typing import Any

from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.errors import DatabaseError, DatabaseUnavailable

UNUSED: Any = None  # the repositories: these tests write through plain functions


class Database:
    """Takes writes while ``up``; remembers what it took."""

    def __init__(self) -> None:
        self.up = True
        self.taken: list[str] = []

    def write(self, what: str) -> Any:
        async def run() -> str:
            if not self.up:
                raise DatabaseUnavailable("refused")
            self.taken.append(what)
            return what

        return run


async def test_writes_wait_for_the_database_and_keep_their_order() -> None:
    rt, db = QueueRuntime(UNUSED, UNUSED), Database()
    assert await rt.record("a", db.write("a")) == "a"
    db.up = False
    assert await rt.record("b", db.write("b")) is None
    db.up = True
    assert await rt.record("c", db.write("c")) is None  # queued behind b, not before it
    assert db.taken == ["a"] and len(rt.deferred) == 2
    db.up = False
    assert await rt.flush() == 0
    db.up = True
    assert await rt.flush() == 2
    assert db.taken == ["a", "b", "c"] and not rt.deferred
    await asyncio.wait_for(rt.drained(), 1)


async def test_a_write_the_database_rejects_for_good_is_not_retried() -> None:
    rt = QueueRuntime(UNUSED, UNUSED)
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise DatabaseError("relation does not exist")

    assert await rt.record("broken", broken) is None
    assert not rt.deferred and calls == 1
