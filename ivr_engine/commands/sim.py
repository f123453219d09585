"""``ivr-engine sim`` (run the Asterisk simulator) and ``ivr-engine call`` (place a call on it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from ivr_engine.errors import ConfigError
from ivr_engine.prompts.manifest import prompt_texts
from ivr_engine.settings import load_settings
from ivr_engine.sim.behaviour import Behaviour

if TYPE_CHECKING:
    from ivr_engine.sim import Simulator


def register(subparsers: Any) -> None:
    """Add the ``sim`` and ``call`` sub-commands."""
    p = subparsers.add_parser("sim", help="run the Asterisk simulator (ARI + AMI) until Ctrl-C")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ari-port", type=int, default=8088)
    p.add_argument("--ami-port", type=int, default=5038)
    p.add_argument("--ari-user", default="ivr")
    p.add_argument("--ari-password", default="ivr-secret")
    p.add_argument("--ami-user", default="ivr")
    p.add_argument("--ami-secret", default="ivr-secret")
    p.add_argument("--app", default="ivr-engine", help="Stasis app inbound calls go to")
    p.add_argument("--speed", type=float, default=1.0, help="simulated time per wall second")
    p.add_argument("--trunk", default="carrier")
    p.add_argument(
        "--sounds",
        action="append",
        default=None,
        help="sound directory (repeatable; default: sounds, sounds/sim)",
    )
    p.set_defaults(func=run_sim)

    c = subparsers.add_parser("call", help="place an inbound call on a running simulator")
    c.add_argument("--to", required=True, help="the dialled (virtual) number")
    c.add_argument("--from", dest="caller", default="01020003000", help="the caller's number")
    c.add_argument("--dtmf", default="", help="keys the caller presses: 1@3s,2@4s")
    c.add_argument("--hangup-after", default="", help="the caller hangs up after: 20s")
    c.add_argument(
        "--target-behaviour",
        action="append",
        default=[],
        help="NUMBER=busy|no-answer|reject|unreachable[:cause]|answer[:ring[:talk]]",
    )
    c.add_argument("--sim-url", default="http://127.0.0.1:8088/sim")
    c.add_argument("--app", default="", help="Stasis app (default: the simulator's)")
    c.add_argument("--args", default="inbound", help="Stasis arguments, comma-separated")
    c.add_argument(
        "--hold",
        action="store_true",
        help="keep the call up until it ends (do not hang up when this command exits)",
    )
    c.add_argument("--timeout", type=float, default=600.0, help="give up after (wall seconds)")
    c.set_defaults(func=run_call)


def seconds(text: str) -> float:
    """``20s`` / ``1.5`` / ``2m`` -> seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m)?\s*", text)
    if not m:
        raise ConfigError(f"not a duration: {text!r}")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value * 60 if m.group(2) == "m" else value


def parse_dtmf(text: str) -> list[tuple[float, str]]:
    """``1@3s,2@4s`` -> [(3.0, "1"), (4.0, "2")]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        digits, _, at = part.partition("@")
        if not digits or not at:
            raise ConfigError(f"--dtmf: expected DIGITS@TIME, got {part!r}")
        out.append((seconds(at), digits))
    return out


def run_sim(args: argparse.Namespace) -> int:
    """Run the simulator until interrupted."""
    from ivr_engine.sim import SimConfig, Simulator

    config = SimConfig(
        host=args.host,
        ari_port=args.ari_port,
        ami_port=args.ami_port,
        ari_user=args.ari_user,
        ari_password=args.ari_password,
        ami_user=args.ami_user,
        ami_secret=args.ami_secret,
        speed=args.speed,
        trunk=args.trunk,
        default_app=args.app,
        sounds_dirs=tuple(args.sounds or ("sounds", "sounds/sim")),
    )

    async def main() -> None:
        sim = Simulator(config)
        await _start(sim)
        print(f"Asterisk simulator (ARI {config.asterisk_version})", flush=True)
        print(f"  ARI      {sim.ari_url}   user {config.ari_user} password {config.ari_password}")
        print(f"  events   {sim.ari_url.replace('http', 'ws', 1)}/events?app=<app>")
        print(
            f"  AMI      {config.host}:{sim.ami_port}   user {config.ami_user} secret "
            f"{config.ami_secret}"
        )
        print(f"  control  {sim.control_url}")
        print(f"  trunk    {config.trunk}: dial PJSIP/<number>@{config.trunk}")
        print(
            f"  inbound  context {config.inbound_context} -> "
            f"Stasis({config.default_app},inbound), fallback AstDB ivr-fallback/<DID>"
        )
        print(f"  speed    x{config.speed}   (Ctrl-C to stop)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await sim.stop()

    asyncio.run(main())
    return 0


async def _start(sim: Simulator) -> None:
    """Bind the simulator's ports; one that is taken is a one-line error naming it and the
    option that changes it (the CLI exits 1), not a traceback."""
    try:
        await sim.start()
    except OSError as exc:
        ari_bound = sim.ari_port != 0
        await sim.stop()
        cfg = sim.config
        if ari_bound:
            which, port, option = "AMI", cfg.ami_port, "--ami-port"
        else:
            which, port, option = "ARI", cfg.ari_port, "--ari-port"
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(
            f"the simulator cannot listen on {which} {cfg.host}:{port}: {reason.lower()} "
            f"(stop what uses it, or choose another port with {option})"
        ) from None


def run_call(args: argparse.Namespace) -> int:
    """Place one inbound call and print the media timelines when it ends."""
    behaviours = []
    for item in args.target_behaviour:
        number, _, spec = item.partition("=")
        try:
            Behaviour.parse(spec)
        except ValueError as exc:
            raise ConfigError(f"--target-behaviour: {exc}") from None
        behaviours.append((number, spec))
    body = {
        "to": args.to,
        "from": args.caller,
        "app": args.app or None,
        "args": [a for a in args.args.split(",") if a],
        "dtmf": parse_dtmf(args.dtmf),
        "hangup_after": seconds(args.hangup_after) if args.hangup_after else None,
    }
    return asyncio.run(_call(args.sim_url.rstrip("/"), body, behaviours, args))


async def _call(
    base: str, body: dict[str, Any], behaviours: list[tuple[str, str]], args: argparse.Namespace
) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        try:
            for number, spec in behaviours:
                async with http.put(f"{base}/behaviours/{number}", json={"behaviour": spec}) as r:
                    r.raise_for_status()
            async with http.post(f"{base}/calls", json=body) as r:
                if r.status != 201:
                    print(f"error: {await r.text()}", file=sys.stderr)
                    return 1
                cid = (await r.json())["channel_id"]
        except aiohttp.ClientError as exc:
            print(f"error: simulator not reachable at {base}: {exc}", file=sys.stderr)
            return 1
        print(f"call {cid}: {body['from']} -> {body['to']}", flush=True)
        try:
            async with http.get(f"{base}/calls/{cid}", params={"wait": str(args.timeout)}) as r:
                result = await r.json()
        except asyncio.CancelledError:
            result = {}
        if not result.get("ended") and not args.hold:
            async with http.post(f"{base}/calls/{cid}/hangup") as r:
                result = await r.json()
        print_timelines(result, prompt_texts(Path(load_settings(args.config).prompts.sounds_dir)))
    return 0


def print_timelines(result: dict[str, Any], texts: Mapping[str, str] | None = None) -> None:
    """Print the caller's and the callees' media timelines; prompts whose text ``texts``
    knows (sound name -> text) are shown by their words."""
    from ivr_engine.domain.trace import spoken_media
    from ivr_engine.sim.timeline import MediaEvent

    def show(title: str, entries: list[dict[str, Any]]) -> None:
        print(title)
        for entry in entries:
            print("  " + spoken_media(MediaEvent(**entry).describe(), texts or {}))

    show(f"caller {result.get('channel_id', '?')}:", result.get("timeline", []))
    for cid, entries in (result.get("callees") or {}).items():
        show(f"callee {cid}:", entries)
    sys.stdout.flush()
