"""Calling a customer back for a callback request: the agent first, then the customer.

The agent's phone rings showing the customer's number; once the agent answers, the agent
hears a ringback while the customer's phone rings showing the virtual number the customer
called, so the call-back comes from the business they know. When the customer answers the
two are bridged until either hangs up; then the other is released and the bridge destroyed.

Per the protocol facts (A.3, H): both legs are originated into the dialer's own Stasis app
and enter it only once answered; how a leg ended is keyed on its hangup cause
(ChannelHangupRequest / ChannelDestroyed), never on Dial events.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ivr_engine.asterisk.ari.errors import AriError, AriNotFound
from ivr_engine.calls.legs import ChannelGone, LegWatch, race
from ivr_engine.calls.ports import AriPort, EventPort
from ivr_engine.calls.two_party import TwoPartyCall, first_set
from ivr_engine.domain.callbacks import PENDING, CallbackRequest
from ivr_engine.domain.dialing import TargetResult, classify_cause
from ivr_engine.domain.numbers import NumberKind, mask, parse_number
from ivr_engine.errors import ConflictError, ValidationError

log = logging.getLogger(__name__)

RING_MARGIN = 5.0  # wall seconds past the ring time before a still-ringing leg is ended
REQUEST_TIMEOUT = 10.0  # wall seconds for a synchronous ARI request (bridge add)
# While they talk, how often (wall seconds) both legs are looked up in Asterisk, so a hangup
# missed while the events socket was reconnecting still ends the call-back.
STILL_THERE_EVERY = 30.0
# Set on both legs, so the call-back's channels can be told apart in Asterisk and in CDRs.
REQUEST_VAR = "IVR_CALLBACK_REQUEST"


class CallbackOutcome(StrEnum):
    """How a call-back ended."""

    COMPLETED = "completed"  # agent and customer talked
    AGENT_NO_ANSWER = "agent_no_answer"  # the agent's phone was not answered (or was busy)
    CUSTOMER_BUSY = "customer_busy"  # busy or declined (causes 17, 21)
    CUSTOMER_NO_ANSWER = "customer_no_answer"  # rang without an answer (causes 16, 19)
    CUSTOMER_UNREACHABLE = "customer_unreachable"  # switched off, unknown number, refused
    CANCELLED = "cancelled"  # the agent hung up before the customer answered
    FAILED = "failed"  # Asterisk refused a request (e.g. an unknown agent endpoint)


@dataclass(frozen=True)
class CallbackResult:
    """What came of one call-back: the outcome, the cause of the leg that ended it (if it
    failed), the talk time of a completed call-back and who hung up."""

    outcome: CallbackOutcome
    cause: int | None = None
    talk_seconds: float = 0.0
    ended_by: str | None = None  # "agent" | "customer" for a completed call-back
    agent_channel: str = ""
    customer_channel: str = ""

    @property
    def completed(self) -> bool:
        """True when agent and customer talked."""
        return self.outcome is CallbackOutcome.COMPLETED

    def describe(self) -> str:
        """The outcome in one line for people."""
        if self.completed:
            return f"completed: talked {self.talk_seconds:.0f} s, the {self.ended_by} hung up"
        text = self.outcome.value.replace("_", " ")
        return text + (f" (cause {self.cause})" if self.cause is not None else "")


def agent_dial_string(agent: str, trunk: str) -> str:
    """The endpoint to ring an agent: ``PJSIP/<name>`` as given, or a phone number reached
    through the trunk as ``PJSIP/<number>@<trunk>``."""
    text = agent.strip()
    if text.upper().startswith("PJSIP/"):
        if not text[6:]:
            raise ValidationError("name the agent's PJSIP endpoint", "agent")
        return "PJSIP/" + text[6:]
    try:
        parsed = parse_number(text)
    except ValidationError:
        raise ValidationError(
            f"{mask(text)} is neither PJSIP/<endpoint> nor a phone number", "agent"
        ) from None
    if parsed.kind is NumberKind.ANONYMOUS or not parsed.digits:
        raise ValidationError("the agent needs an endpoint or a phone number", "agent")
    return f"PJSIP/{parsed.digits}@{trunk}"


def masked_endpoint(endpoint: str) -> str:
    """An endpoint as logs show it: a phone number in it is masked."""
    tech, _, resource = endpoint.partition("/")
    name, at, trunk = resource.partition("@")
    if name.isdigit():
        name = mask(name)
    return f"{tech}/{name}{at}{trunk}"


def customer_outcome(cause: int | None) -> CallbackOutcome:
    """The outcome of a customer leg that ended before answering, from its Q.850 cause."""
    result = classify_cause(cause)
    if result in (TargetResult.BUSY, TargetResult.REJECTED):
        return CallbackOutcome.CUSTOMER_BUSY
    if result is TargetResult.NO_ANSWER:
        return CallbackOutcome.CUSTOMER_NO_ANSWER
    return CallbackOutcome.CUSTOMER_UNREACHABLE


async def call_back(
    ari: AriPort,
    events: EventPort,
    *,
    app: str,
    trunk: str,
    request: CallbackRequest,
    agent_endpoint: str,
    ring_seconds: int,
    clock: Callable[[], datetime],
) -> CallbackResult:
    """Call the customer of a pending request back through ``agent_endpoint``.

    ``app`` must be the Stasis app whose events ``events`` receives. Rings each party for
    ``ring_seconds``; returns the outcome (recording it is the caller's business). If the
    task is cancelled, both legs are hung up before the cancellation goes on.
    """
    if request.status not in PENDING:
        raise ConflictError(f"callback request {request.id} is already {request.status.value}")
    if ring_seconds <= 0:
        raise ValidationError("the ring time must be at least one second", "ring")
    dialer = _Dialer(
        ari,
        events,
        app,
        trunk,
        request,
        agent_dial_string(agent_endpoint, trunk),
        ring_seconds,
        clock,
    )
    return await dialer.run()


class _Dialer(TwoPartyCall):
    """One call-back's two legs and bridge."""

    def __init__(
        self,
        ari: AriPort,
        events: EventPort,
        app: str,
        trunk: str,
        request: CallbackRequest,
        agent: str,
        ring_seconds: int,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(ari, app, f"call-back #{request.id}")
        self.trunk, self.request = trunk, request
        self.agent_endpoint, self.ring_seconds, self.clock = agent, ring_seconds, clock
        tag = f"callback-{request.id}-{secrets.token_hex(4)}"
        self.agent = LegWatch(f"{tag}-agent", events)
        self.customer = LegWatch(f"{tag}-customer", events)

    def _result(
        self, outcome: CallbackOutcome, cause: int | None = None, **kw: Any
    ) -> CallbackResult:
        log.info(
            "call-back #%d to %s: %s%s",
            self.request.id,
            self.request.masked_caller,
            outcome.value,
            f" (cause {cause})" if cause is not None else "",
        )
        return CallbackResult(
            outcome,
            cause,
            agent_channel=self.agent.channel_id,
            customer_channel=self.customer.channel_id,
            **kw,
        )

    async def run(self) -> CallbackResult:
        """Ring the agent, then the customer; bridge them; wait for the end."""
        try:
            return await self._run()
        except BaseException:
            # Cancelled or an unexpected error: no phone is left ringing or connected.
            await asyncio.shield(self._release(self.agent, self.customer))
            raise
        finally:
            await self._teardown(self.agent, self.customer)

    async def _run(self) -> CallbackResult:
        customer_digits = self.request.caller
        if not await self._originate(
            self.agent,
            self.agent_endpoint,
            f'"Callback {self.request.id}" <{customer_digits}>',
            "agent",
            None,
        ):
            return self._result(CallbackOutcome.FAILED)
        if not await self._answered(self.agent):
            if self.agent.answered.is_set():  # answered, then hung up at once
                return self._result(CallbackOutcome.CANCELLED, self.agent.cause)
            return self._result(CallbackOutcome.AGENT_NO_ANSWER, self.agent.cause)
        await self._ringback(start=True)
        if not await self._originate(
            self.customer,
            f"PJSIP/{customer_digits}@{self.trunk}",
            self.request.number,
            "customer",
            self.agent.channel_id,
        ):
            await self._release(self.agent)
            return self._result(CallbackOutcome.CUSTOMER_UNREACHABLE)
        try:
            answered = await self._answered(self.customer, while_up=self.agent)
        except ChannelGone:
            await self._release(self.customer)
            return self._result(CallbackOutcome.CANCELLED, self.agent.cause)
        if not answered:
            await self._release(self.agent)
            return self._result(customer_outcome(self.customer.cause), self.customer.cause)
        return await self._connect_and_talk()

    async def _originate(
        self, leg: LegWatch, endpoint: str, caller_id: str, role: str, originator: str | None
    ) -> bool:
        """Start ringing one party; False when Asterisk refuses the call."""
        return await self._place(
            leg,
            endpoint,
            role=role,
            shown=masked_endpoint(endpoint),
            caller_id=caller_id,
            dial_timeout=self.ring_seconds,
            app_args=("callback", role, str(self.request.id)),
            variables={REQUEST_VAR: str(self.request.id)},
            originator=originator,
        )

    async def _answered(self, leg: LegWatch, *, while_up: LegWatch | None = None) -> bool:
        """Wait until the leg answers (True) or ends (False); a leg ringing past its ring
        time is hung up. ChannelGone when ``while_up`` ends first."""
        return await self._await_answer(leg, self.ring_seconds + RING_MARGIN, while_up=while_up)

    async def _connect_and_talk(self) -> CallbackResult:
        """Bridge agent and customer, then wait until either hangs up."""
        await self._ringback(start=False)
        try:
            bridge = await self.ari.create_bridge("mixing", name=f"callback-{self.request.id}")
            self.bridge_id = bridge.id
            await race(
                self.ari.add_channel(bridge.id, [self.agent.channel_id, self.customer.channel_id]),
                self.agent,
                self.customer,
                timeout=REQUEST_TIMEOUT,
            )
        except (ChannelGone, AriError, TimeoutError) as exc:
            await self._release(self.agent, self.customer)
            if isinstance(exc, ChannelGone):
                return self._result(CallbackOutcome.CANCELLED, self.agent.cause)
            log.warning("call-back #%d: bridging failed: %s", self.request.id, exc)
            return self._result(CallbackOutcome.FAILED)
        started = self.clock()
        log.info("call-back #%d: agent and customer bridged", self.request.id)
        await self._until_either_hangs_up()
        talk = max(0.0, (self.clock() - started).total_seconds())
        ended_by = "agent" if self.agent.gone.is_set() else "customer"
        await self._release(self.customer if ended_by == "agent" else self.agent)
        return self._result(
            CallbackOutcome.COMPLETED, talk_seconds=round(talk, 3), ended_by=ended_by
        )

    async def _until_either_hangs_up(self) -> None:
        """Wait for the first hangup, looking the legs up now and then in case a hangup
        event was missed while the events socket was reconnecting."""
        legs = (self.agent, self.customer)
        while True:
            try:
                await first_set([leg.gone for leg in legs], STILL_THERE_EVERY)
                return
            except TimeoutError:
                pass
            for leg in legs:
                try:
                    await self.ari.get_channel(leg.channel_id)
                except AriNotFound:
                    log.warning(
                        "call-back #%d: %s is gone without a hangup event",
                        self.request.id,
                        leg.channel_id,
                    )
                    leg.gone.set()
                except AriError as exc:
                    log.debug(
                        "call-back #%d: looking up %s: %s", self.request.id, leg.channel_id, exc
                    )

    async def _ringback(self, *, start: bool) -> None:
        """Let the answered agent hear ringing while the customer's phone rings."""
        await self._ring_to(self.agent, start=start)
