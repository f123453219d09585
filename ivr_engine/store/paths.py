"""Where the SQL files live: ``sql/`` next to the package (editable install or a checkout),
or the directory named by ``IVR_SQL_DIR``."""

from __future__ import annotations

import os
from pathlib import Path

from ivr_engine.errors import ConfigError


def sql_dir() -> Path:
    """The directory holding ``migrations/``, ``queries/`` and ``schema.sql``."""
    override = os.environ.get("IVR_SQL_DIR")
    path = Path(override) if override else Path(__file__).resolve().parents[2] / "sql"
    if not (path / "migrations").is_dir():
        raise ConfigError(f"SQL directory not found: {path} (set IVR_SQL_DIR)")
    return path
