"""Shared pytest set-up. Fixtures live in ``tests/fixtures/``, one module per real part:
``pg`` (a real PostgreSQL: ``DATABASE_URL`` or an embedded server), ``sim`` (the Asterisk
simulator over real sockets)."""

import os

os.environ.setdefault("TZ", "UTC")  # the engine must never depend on the machine's zone

pytest_plugins = ["tests.fixtures.pg", "tests.fixtures.sim"]
