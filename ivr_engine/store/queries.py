"""Named SQL queries loaded from ``sql/queries/*.sql``.

Each query starts with a ``-- name: <name>`` line; the lines up to the next such header are
its text (further ``--`` comment lines right after the header are its description).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from ivr_engine.errors import ConfigError
from ivr_engine.store.paths import sql_dir

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str, source: str = "<sql>") -> dict[str, str]:
    """Split one file's text into ``{name: sql}``; a name used twice is an error."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ConfigError(f"{source}: query {name!r} defined twice")
        queries[name] = body.strip().rstrip(";").strip()
    return queries


def load_queries(directory: Path | None = None) -> dict[str, str]:
    """All named queries of every ``.sql`` file in the directory."""
    directory = directory or sql_dir() / "queries"
    queries: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, sql in parse_queries(path.read_text(encoding="utf-8"), str(path)).items():
            if name in queries:
                raise ConfigError(f"{path}: query {name!r} already defined in another file")
            queries[name] = sql
    return queries


class Queries(Mapping[str, str]):
    """Read-only ``{name: sql}``; a missing name raises KeyError naming it."""

    def __init__(self, queries: dict[str, str]) -> None:
        self._queries = queries

    def __getitem__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise KeyError(f"no SQL query named {name!r} in sql/queries") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)


@cache
def queries() -> Queries:
    """The project's named queries, loaded once."""
    return Queries(load_queries())
