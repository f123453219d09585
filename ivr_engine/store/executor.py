# ruff: noqa: ASYNC109  (asyncpg's own signatures carry a timeout)
"""What the store's query functions run their statements on: an asyncpg pool or one of
its connections (inside a transaction), which offer the same four calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class Executor(Protocol):
    """``asyncpg.Pool`` or ``asyncpg.Connection``: run a statement, read rows."""

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        """Run a statement; its status tag."""
        ...

    async def executemany(
        self, command: str, args: Iterable[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Run a statement once per argument tuple."""
        ...

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Any]:
        """Every row."""
        ...

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Any:
        """The first row, or None."""
        ...

    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any:
        """One value of the first row, or None."""
        ...
