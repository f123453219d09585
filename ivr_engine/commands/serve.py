"""``ivr-engine serve``: serve calls until SIGTERM / Ctrl-C.

With no ARI URL configured the engine starts the built-in Asterisk simulator (ARI on 8088,
AMI on 5038 when free) so calls can be placed with ``ivr-engine call``; with no
``DATABASE_URL``, the embedded PostgreSQL. On SIGTERM it stops taking new calls (they go
back to the dialplan, whose fallback forwards them), lets calls in progress finish for the
drain time, hands the rest back, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable

from ivr_engine import event_loop
from ivr_engine.console.bootstrap import console_lines, ensure_first_admin
from ivr_engine.http_api import bound_port
from ivr_engine.service import RunningEngine, running_engine
from ivr_engine.settings import Settings, load_settings

log = logging.getLogger(__name__)


def port_free(host: str, port: int) -> bool:
    """True when a TCP port can be bound on ``host``."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def describe(engine: RunningEngine, admin_password: str | None = None) -> list[str]:
    """Where the engine is connected, for the operator (with the first admin's password
    when it was just created)."""
    s = engine.settings
    lines = [f"engine serving Stasis app {s.ari.app!r} (node {s.node})"]
    if engine.sim is not None:
        sim = engine.sim
        lines += [
            f"built-in Asterisk simulator: ARI {sim.ari_url} (user {s.ari.user}), "
            f"AMI 127.0.0.1:{sim.ami_port}, trunk {sim.config.trunk!r}",
            f"place a call: ivr-engine call --sim-url {sim.control_url} "
            "--to 05051234567 --from 01020003000",
        ]
    else:
        lines.append(f"connected to Asterisk ARI at {s.ari.url}")
    if engine.agi is not None:
        lines.append(f"FastAGI: agi://{s.agi.host}:{engine.agi.port}/route")
    if engine.http is not None:
        base = f"http://{s.http_host}:{bound_port(engine.http)}"
        lines.append(f"metrics and health: {base}/metrics {base}/healthz {base}/readyz")
        lines += console_lines(base, admin_password)
    return lines


async def serve_until_stopped(
    settings: Settings,
    *,
    sim_speed: float = 1.0,
    drain_timeout: float = 30.0,
    started: Callable[[RunningEngine], Awaitable[None]] | None = None,
) -> None:
    """Run the engine until SIGTERM or SIGINT, then drain and stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with running_engine(
        settings, sim_speed=sim_speed, drain_timeout=drain_timeout, sim_ports=simulator_ports()
    ) as engine:
        password = await ensure_first_admin(engine.db.pool) if engine.http is not None else None
        for line in describe(engine, password):
            print(line, flush=True)
        if started is not None:
            await started(engine)
        await stop.wait()
        print(
            f"stopping: {engine.dispatcher.active} call(s) in progress, "
            f"draining for up to {drain_timeout:.0f}s",
            flush=True,
        )


def simulator_ports() -> tuple[int, int]:
    """Asterisk's own ports (ARI 8088, AMI 5038) for the built-in simulator when they are
    free, else any free port."""
    ari = 8088 if port_free("127.0.0.1", 8088) else 0
    ami = 5038 if port_free("127.0.0.1", 5038) else 0
    return ari, ami


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    event_loop.run(
        serve_until_stopped(settings, sim_speed=args.speed, drain_timeout=args.drain),
        settings.event_loop,
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve``."""
    p = subparsers.add_parser("serve", help="serve calls over ARI until SIGTERM / Ctrl-C")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="speed of the built-in simulator (when no ARI URL is set)",
    )
    p.add_argument(
        "--drain",
        type=float,
        default=30.0,
        help="seconds calls in progress may take to finish on shutdown",
    )
    p.set_defaults(func=_serve)
