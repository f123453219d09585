"""An on-disk journal of JSON lines: where call records wait while PostgreSQL is away.

Records are appended to the current segment file and fsync'd before ``append`` returns, so
a record the journal accepted survives a crash of the engine or the machine. Replay works
on sealed segments: ``seal()`` closes the current segment (later appends start a new one)
and returns every segment on disk; the caller stores a segment's records and only then
``remove()``s it. A crash between storing and removing replays the segment again, which is
why what is replayed must be idempotent (call records are, by their key).

A line that cannot be parsed (a write torn by a crash) is skipped and counted. Records that
can never be stored go to ``rejected.jsonl`` for a person to look at; they are not replayed.

``healthy`` tells whether the last write (or opening the directory) succeeded: while it is
False, records that need the journal cannot be made durable (the disk is full, the directory
is gone or read-only).

``Journal`` does blocking file I/O; asyncio code uses it through ``AsyncJournal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, TypeVar

log = logging.getLogger(__name__)

SEGMENT_GLOB = "cdr-*.jsonl"
REJECTED = "rejected.jsonl"
T = TypeVar("T")


class Journal:
    """Append-only, fsync'd JSON-lines segments in one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._current: IO[bytes] | None = None
        self._current_path: Path | None = None
        self._counts: dict[Path, int] = {}
        self._sizes: dict[Path, int] = {}
        self._serial = 0
        self.healthy = True

    def open(self) -> None:
        """Create the directory and count what previous runs left in it."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in self.segments():
                data = path.read_bytes()
                self._counts[path] = data.count(b"\n")
                self._sizes[path] = len(data)
        except OSError:
            self.healthy = False
            raise

    @property
    def records(self) -> int:
        """Records waiting in the journal (lines in every segment)."""
        return sum(self._counts.values())

    @property
    def size_bytes(self) -> int:
        """Bytes of every segment on disk."""
        return sum(self._sizes.values())

    def segments(self) -> list[Path]:
        """Every segment file, oldest first (the current one included)."""
        return sorted(self.directory.glob(SEGMENT_GLOB))

    def append(self, items: Iterable[dict[str, Any]]) -> int:
        """Append JSON objects as lines and fsync; returns how many were written."""
        lines = [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items]
        if not lines:
            return 0
        data = ("\n".join(lines) + "\n").encode()
        try:
            fh, path = self._open_current()
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        except OSError:
            self.healthy = False
            self._drop_current()  # the next append starts a fresh segment
            raise
        self.healthy = True
        self._counts[path] = self._counts.get(path, 0) + len(lines)
        self._sizes[path] = self._sizes.get(path, 0) + len(data)
        return len(lines)

    def seal(self) -> list[Path]:
        """Close the current segment and return every segment on disk, oldest first."""
        if self._current is not None:
            self._current.close()
            self._current = self._current_path = None
        return self.segments()

    def read(self, path: Path) -> tuple[list[dict[str, Any]], int]:
        """The objects of one segment, and how many damaged lines were skipped."""
        items: list[dict[str, Any]] = []
        damaged = 0
        for line in path.read_bytes().splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                damaged += 1
                continue
            if isinstance(item, dict):
                items.append(item)
            else:
                damaged += 1
        if damaged:
            log.warning("journal %s: %d damaged line(s) skipped", path.name, damaged)
        return items, damaged

    def remove(self, path: Path) -> None:
        """Delete a sealed segment whose records are stored."""
        if path == self._current_path:
            raise ValueError(f"{path.name} is the open segment; seal() it first")
        path.unlink(missing_ok=True)
        self._counts.pop(path, None)
        self._sizes.pop(path, None)
        self._sync_directory()

    def reject(self, items: Iterable[dict[str, Any]]) -> int:
        """Keep objects that can never be stored in ``rejected.jsonl``; returns the count."""
        lines = [json.dumps(item, ensure_ascii=False) for item in items]
        if lines:
            with open(self.directory / REJECTED, "ab") as fh:
                fh.write(("\n".join(lines) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
        return len(lines)

    def close(self) -> None:
        """Close the current segment (it stays on disk for the next run)."""
        self.seal()

    def _drop_current(self) -> None:
        """Forget the open segment after a failed write (closing it may fail too)."""
        fh, self._current, self._current_path = self._current, None, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()

    def _open_current(self) -> tuple[IO[bytes], Path]:
        """The open segment, creating a new one (named to sort by creation) when needed."""
        if self._current is None or self._current_path is None:
            self._serial += 1
            name = f"cdr-{time.time_ns():020d}-{os.getpid()}-{self._serial:04d}.jsonl"
            self._current_path = self.directory / name
            self._current = open(self._current_path, "ab")  # noqa: SIM115 - kept open
            self._sync_directory()
        return self._current, self._current_path

    def _sync_directory(self) -> None:
        """fsync the directory so created and removed segment names are durable too."""
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


class AsyncJournal:
    """The journal for asyncio code: every operation runs in a thread (fsync never stalls
    the event loop) and one at a time (a lock), so appends and seals never interleave."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._lock = asyncio.Lock()

    @property
    def records(self) -> int:
        """Records waiting in the journal."""
        return self.journal.records

    @property
    def size_bytes(self) -> int:
        """Bytes of every segment on disk."""
        return self.journal.size_bytes

    @property
    def healthy(self) -> bool:
        """Whether the journal's last write succeeded."""
        return self.journal.healthy

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            return await asyncio.to_thread(fn, *args)

    async def open(self) -> None:
        """See ``Journal.open``."""
        await self._run(self.journal.open)

    async def append(self, items: list[dict[str, Any]]) -> int:
        """See ``Journal.append``."""
        return await self._run(self.journal.append, items)

    async def seal(self) -> list[Path]:
        """See ``Journal.seal``."""
        return await self._run(self.journal.seal)

    async def read(self, path: Path) -> list[dict[str, Any]]:
        """The objects of one segment (damaged lines skipped)."""
        items, _ = await self._run(self.journal.read, path)
        return items

    async def remove(self, path: Path) -> None:
        """See ``Journal.remove``."""
        await self._run(self.journal.remove, path)

    async def reject(self, items: list[dict[str, Any]]) -> int:
        """See ``Journal.reject``."""
        return await self._run(self.journal.reject, items)

    async def close(self) -> None:
        """See ``Journal.close``."""
        await self._run(self.journal.close)
