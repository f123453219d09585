"""The ``ivr-engine`` command line: one sub-command per module under ``ivr_engine.commands``.

Each command module exposes ``register(subparsers)`` which adds its sub-commands and sets
``func`` (a callable taking the parsed args and returning an exit code) on each.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ivr_engine.errors import IvrError
from ivr_engine.logs import setup_logging

# Modules that contribute sub-commands; a module that does not exist yet is skipped.
COMMAND_MODULES = (
    "ivr_engine.commands.db",  # migrate, load
    "ivr_engine.commands.planning",  # plan, check
    "ivr_engine.commands.run",  # run
    "ivr_engine.commands.serve",  # serve
    "ivr_engine.commands.sim",  # sim, call
    "ivr_engine.commands.prompts",  # prompts build
    "ivr_engine.commands.cdr",  # cdr list, stats, export
    "ivr_engine.commands.agent",  # agent ..., queue stats / log
    "ivr_engine.commands.callback",  # callback list, assign, complete, call
    "ivr_engine.commands.sms",  # sms list, approve, discard, resend, policy, optout, worker
    "ivr_engine.commands.users",  # user add, list, password; token create, revoke
    "ivr_engine.commands.member",  # member list, add, remove
    "ivr_engine.commands.minutes",  # minutes charge, allocate, show
    "ivr_engine.commands.outbound",  # dial
)

log = logging.getLogger("ivr_engine.cli")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="ivr-engine", description="050 virtual-number and IVR engine for Asterisk"
    )
    parser.add_argument("--config", help="settings file (TOML); also IVR_CONFIG")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ...")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level or "INFO")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except IvrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
