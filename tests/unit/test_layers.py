"""The architecture's import rules, read from the source: ``domain/`` is pure (standard
library, its calendars and number parsing, the project's errors, nothing else of ours) and
``calls/`` reaches the database and the network only through its ports (and never loads a
module by name to find out whether it is there)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ivr_engine"
DOMAIN_THIRD_PARTY = {"holidays", "phonenumbers"}
CALLS_FORBIDDEN = ("asyncpg", "aiohttp", "ivr_engine.store", "ivr_engine.sms", "ivr_engine.service")


def imports_of(path: Path) -> set[str]:
    """Every module a source file imports (at any level: lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _files(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).glob("*.py"))


@pytest.mark.parametrize("path", _files("domain"), ids=lambda p: p.name)
def test_the_domain_imports_nothing_impure(path: Path) -> None:
    bad = {
        name
        for name in imports_of(path)
        if not (
            name.split(".")[0] in sys.stdlib_module_names
            or name.split(".")[0] in DOMAIN_THIRD_PARTY
            or name.startswith("ivr_engine.domain")
            or name == "ivr_engine.errors"
        )
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"
    assert not {"asyncio", "socket"} & imports_of(path)


@pytest.mark.parametrize("path", _files("calls"), ids=lambda p: p.name)
def test_calls_depend_on_ports_not_on_the_store(path: Path) -> None:
    bad = {n for n in imports_of(path) if n.startswith(CALLS_FORBIDDEN) or n == "importlib"}
    assert not bad, f"{path.name} imports {sorted(bad)}"
