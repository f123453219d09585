"""An embedded PostgreSQL (the ``pgserver`` package) for machines without a server.

Used when ``database_url`` is empty: the cluster lives in ``<data_dir>/pg`` and the engine
uses its database ``ivr``. The server is stopped when the last process using it exits.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ivr_engine.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

DATABASE = "ivr"


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (keeps host, socket and options)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def start_server(pgdata: Path) -> Any:
    """Start (or attach to) an embedded server in ``pgdata``; returns the pgserver handle.

    Raises DatabaseUnavailable with the server log's tail when it cannot start.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its INFO lines are internals
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pgserver.get_server(pgdata, cleanup_mode="stop")
    except (
        subprocess.CalledProcessError,
        subprocess.TimeoutExpired,
        OSError,
        AssertionError,
    ) as exc:
        tail = ""
        logfile = pgdata / "log"
        if logfile.exists():
            tail = "\n" + "\n".join(logfile.read_text(errors="replace").splitlines()[-10:])
        raise DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {pgdata}: {exc}{tail}"
        ) from exc


def embedded_url(data_dir: str | Path) -> str:
    """Start the embedded server under ``data_dir`` and return the URL of its ``ivr``
    database, creating that database on first use."""
    server = start_server(Path(data_dir).expanduser() / "pg")
    admin = server.get_uri()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    return with_database(admin, DATABASE)
