"""``ivr-engine dial --member MOBILE --to NUMBER [--caller-id NUMBER]``: click-to-call.

Plans the call (``domain.outbound``), reserves the member's talk time under its row lock
and opens the customer-member session for call-backs (``store.outbound_desk``), rings the
member and then the customer through Asterisk (``calls.outbound``), and stores the
call record with the minutes used in one transaction. Runs as its own Stasis app, so the
serving engine never sees its channels.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr_engine.app import open_database
from ivr_engine.calls.media import PromptMedia
from ivr_engine.calls.outbound import OutboundCall
from ivr_engine.commands.callback import connected_ari
from ivr_engine.domain.minutes import minutes_text
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.outbound import OutboundPlan, Refusal
from ivr_engine.domain.outbound_record import OutboundFacts, OutboundOutcome
from ivr_engine.errors import ConfigError
from ivr_engine.prompts.names import engine_for
from ivr_engine.settings import Settings, load_settings
from ivr_engine.store.outbound_desk import finish_call, prepare_call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialResult:
    """What came of ``dial``: a refusal, or the call's facts and the seconds charged."""

    call_id: str | None
    refusal: Refusal | None = None
    plan: OutboundPlan | None = None
    facts: OutboundFacts | None = None
    charged_seconds: int = 0

    def lines(self) -> list[str]:
        """What the command prints once the call is over."""
        if self.refusal is not None:
            return [f"refused ({self.refusal.code.value}): {self.refusal.message}"]
        assert self.facts is not None
        return [
            f"{self.call_id}: {self.facts.describe()}; charged {minutes_text(self.charged_seconds)}"
        ]


async def dial_command(
    settings: Settings,
    member: str,
    to: str,
    caller_id: str | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    time_scale: float = 1.0,
    on_placed: Callable[[str], None] | None = None,
    connect_timeout: float = 10.0,
) -> DialResult:
    """Place one click-to-call and record it (see the module docstring)."""
    now = clock or (lambda: datetime.now(UTC))
    if not settings.ari.url:
        raise ConfigError("dialling needs Asterisk: set the ARI url (ari.url or IVR_ARI_URL)")
    async with open_database(settings, max_size=2) as db:
        call_id = f"out-{secrets.token_hex(6)}"
        ctx, plan = await prepare_call(db.pool, member, to, caller_id, call_id=call_id, now=now())
        if isinstance(plan, Refusal):
            log.warning(
                "outbound call of %s to %s refused: %s: %s",
                mask(ctx.member.mobile),
                mask(to),
                plan.code.value,
                plan.message,
            )
            return DialResult(None, refusal=plan)
        if on_placed is not None:
            on_placed(call_id)
        facts = await _run(settings, plan, call_id, now, time_scale, connect_timeout)
        charged = await finish_call(db.pool, plan, facts, node=settings.node)
        return DialResult(call_id, plan=plan, facts=facts, charged_seconds=charged)


async def _run(
    settings: Settings,
    plan: OutboundPlan,
    call_id: str,
    clock: Callable[[], datetime],
    time_scale: float,
    connect_timeout: float,
) -> OutboundFacts:
    """The call through Asterisk; any failure still gives facts (so the reservation is
    settled and a record written)."""
    started = clock()
    app = f"{settings.ari.app}-outbound-{call_id}"
    media = PromptMedia(
        settings.prompts.voice, engine_for(settings.prompts.engine, settings.prompts.gtts_enabled)
    )
    try:
        async with connected_ari(settings, app, connect_timeout) as (ari, stream):
            call = OutboundCall(
                ari,
                stream,
                plan,
                app=app,
                trunk=settings.ari.trunk,
                call_id=call_id,
                clock=clock,
                time_scale=time_scale,
                media=media,
            )
            return await call.run()
    except Exception as exc:
        log.error("outbound call %s failed: %s", call_id, exc)
        return OutboundFacts(call_id, OutboundOutcome.FAILED, started, clock())


def _dial(args: argparse.Namespace) -> int:
    def placed(call_id: str) -> None:
        print(f"call {call_id}: ringing {mask(args.member)}", flush=True)

    result = asyncio.run(
        dial_command(
            load_settings(args.config), args.member, args.to, args.caller_id, on_placed=placed
        )
    )
    for line in result.lines():
        print(line)
    done = result.facts is not None and result.facts.outcome is OutboundOutcome.COMPLETED
    return 0 if done else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dial``."""
    p = subparsers.add_parser(
        "dial",
        help="click-to-call: ring a member, then the customer showing the company's number",
    )
    p.add_argument("--member", required=True, help="the member's mobile")
    p.add_argument("--to", required=True, help="the customer's number")
    p.add_argument("--caller-id", help="a verified caller ID of the member (default: the first)")
    p.set_defaults(func=_dial)
