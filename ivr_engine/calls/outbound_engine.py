"""Outbound calls placed by the serving engine itself: the API's click-to-call, call-backs
from records and the access number, on the engine's own ARI connection and Stasis app.

``place`` plans and reserves (``OutboundDesk.prepare``) and, unless refused, starts the
call in its own task and returns its id at once; ``run_on_line`` runs a call whose member
is already on the line (the access number's caller). Either way the record and the minutes
are settled when the call ends (``OutboundDesk.finish``), also when the engine stops
mid-call (both legs are hung up first). The dispatcher is told the call's id, so the legs'
StasisStart are left to the call.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.outbound import OutboundCall
from ivr_engine.calls.ports_outbound import OutboundDesk
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.outbound import OutboundPlan, Refusal
from ivr_engine.domain.outbound_record import OutboundFacts, OutboundOutcome

log = logging.getLogger(__name__)


def new_call_id() -> str:
    """A fresh outbound call id."""
    return f"out-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Finished:
    """An outbound call's facts and the seconds charged."""

    facts: OutboundFacts
    charged_seconds: int


class EngineDialer:
    """Places and follows the engine's outbound calls."""

    def __init__(self, env: CallEnv, desk: OutboundDesk, owned: set[str]) -> None:
        self.env, self.desk, self.owned = env, desk, owned
        self.calls: dict[str, asyncio.Task[Finished]] = {}
        self.finished: dict[str, Finished] = {}  # the last calls' results, by id

    async def place(
        self, member: str, to: str, caller_id: str | None = None, *, tenant_id: str | None = None
    ) -> str | Refusal:
        """Plan, reserve and start a click-to-call; its id, or why it was refused."""
        call_id = new_call_id()
        plan = await self.desk.prepare(
            member, to, caller_id, call_id=call_id, now=self.env.clock(), tenant_id=tenant_id
        )
        if isinstance(plan, Refusal):
            log.warning(
                "outbound call of %s to %s refused: %s", mask(member), mask(to), plan.code.value
            )
            return plan
        task = asyncio.create_task(self._run(plan, call_id, None), name=f"outbound-{call_id}")
        self.calls[call_id] = task
        task.add_done_callback(lambda _t: self.calls.pop(call_id, None))
        return call_id

    async def run_on_line(self, plan: OutboundPlan, call_id: str, channel_id: str) -> Finished:
        """Run a call whose member is on the line already, to its end."""
        return await self._run(plan, call_id, channel_id)

    async def _run(self, plan: OutboundPlan, call_id: str, on_line: str | None) -> Finished:
        env = self.env
        self.owned.add(call_id)
        started = env.clock()
        call = OutboundCall(
            env.ari,
            env.events,
            plan,
            app=env.app,
            trunk=env.trunk,
            call_id=call_id,
            clock=env.clock,
            time_scale=env.time_scale,
            media=env.media,
            member_channel=on_line,
        )
        facts = OutboundFacts(call_id, OutboundOutcome.FAILED, started, started)
        try:
            facts = await call.run()
        except asyncio.CancelledError:
            facts = OutboundFacts(call_id, OutboundOutcome.FAILED, started, env.clock())
            raise
        except Exception:
            log.exception("outbound call %s failed", call_id)
            facts = OutboundFacts(call_id, OutboundOutcome.FAILED, started, env.clock())
        finally:
            self.owned.discard(call_id)
            charged = await asyncio.shield(self._finish(plan, facts))
        done = Finished(facts, charged)
        self.finished[call_id] = done
        if len(self.finished) > 1000:
            self.finished.pop(next(iter(self.finished)))
        return done

    async def _finish(self, plan: OutboundPlan, facts: OutboundFacts) -> int:
        try:
            return await self.desk.finish(plan, facts, node=self.env.node)
        except Exception:
            log.exception("outbound call %s: record not stored", facts.call_id)
            return 0

    async def close(self) -> None:
        """Stop: calls in progress are ended and recorded."""
        tasks = list(self.calls.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
