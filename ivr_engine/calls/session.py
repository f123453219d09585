"""One inbound call, from StasisStart to its end: load the number's config, plan, execute.

One asyncio task per call. Whatever happens inside, the caller is never left in silence:
the session ends every path with a hangup with a cause, or hands the channel back to the
dialplan (whose fallback after ``Stasis()`` forwards to the number's first target from
AstDB), and the log says why.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Never, NoReturn

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import PlaybackFinished
from ivr_engine.asterisk.ari.models import Channel
from ivr_engine.calls.access import run_access
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.forward import Forwarder
from ivr_engine.calls.handover import HANDOVER_VAR
from ivr_engine.calls.legs import CallerGone, LegWatch, hung_up_meanwhile, race
from ivr_engine.calls.menu import run_menu
from ivr_engine.calls.ports import ConfigUnavailable, load_config
from ivr_engine.calls.queue import run_queue
from ivr_engine.calls.session_state import ANSWERED_STATES, SessionState, moved
from ivr_engine.domain.causes import CAUSE_REASON, Cause
from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.numbers import mask, try_normalize
from ivr_engine.domain.planner import (
    AccessStep,
    AnswerStep,
    CallPlan,
    DialStep,
    HangupStep,
    MenuStep,
    PlayStep,
    QueueStep,
    Step,
)
from ivr_engine.domain.proxy import ProxySession
from ivr_engine.domain.trace import CallTrace, trace_to_json
from ivr_engine.errors import DatabaseError

log = logging.getLogger(__name__)


def unknown_step(step: Never) -> NoReturn:
    """A plan step of a kind the session cannot run: fail loudly (the session then hands
    the caller back to the dialplan, never leaving it in silence). Typed ``Never`` so that
    mypy reports a step kind ``_run_step`` does not match."""
    raise TypeError(f"the call session cannot run a {type(step).__name__} step: {step!r}")


class CallSession:
    """Runs one call. Create it inside the StasisStart handler (so the caller's events are
    followed from the first one on), then ``await run()`` in the call's own task."""

    __slots__ = (
        "_playbacks",
        "caller_number",
        "channel_id",
        "env",
        "legs",
        "number",
        "state",
        "trace",
        "watch",
    )

    def __init__(self, env: CallEnv, channel: Channel) -> None:
        self.env = env
        self.channel_id = channel.id
        self.caller_number = channel.caller.number  # as received (the snapshot is not kept)
        self.watch = LegWatch(channel.id, env.events).start()
        self.number = try_normalize(channel.dialplan.exten) or channel.dialplan.exten
        self.trace = CallTrace(
            channel.id,
            self.number,
            self.caller_number,
            env.clock(),
            linkedid=channel.id,
            node=env.node,
            channel_name=channel.name,
        )
        self.state = SessionState.ANSWERED if channel.state == "Up" else SessionState.RINGING
        self._playbacks = 0
        self.legs: dict[str, LegWatch] = {}  # target legs in progress, by channel id

    def _move(self, to: SessionState) -> None:
        """Change the session's state (IllegalTransition for a move it does not allow)."""
        self.state = moved(self.channel_id, self.state, to)

    @property
    def answered(self) -> bool:
        """The caller's channel is answered and still ours (not ended, not handed over)."""
        return self.state in ANSWERED_STATES

    @property
    def talking(self) -> bool:
        """The caller is bridged with a callee."""
        return self.state is SessionState.TALKING

    def bridged(self) -> None:
        """The caller has been bridged with the callee who answered."""
        self._move(SessionState.TALKING)

    def watches(self) -> list[LegWatch]:
        """Every channel this call follows: the caller and its target legs."""
        return [self.watch, *self.legs.values()]

    # -- helpers used by the executors --------------------------------------------------
    def now(self) -> datetime:
        """The session clock (aware, UTC)."""
        return self.env.clock()

    def note(self, kind: str, text: str, **data: object) -> None:
        """Add a line to the call's trace."""
        self.trace.add(self.now(), kind, text, **data)

    def mark_answered(self, target: str | None = None) -> None:
        """The caller's channel is answered (by us, after a target answered or for a prompt)."""
        self._move(SessionState.ANSWERED)
        self.trace.answered_at = self.trace.answered_at or self.now()
        if target is not None:
            self.trace.answered_target = target
        self.note("answer", "caller answered" + (f" for {mask(target)}" if target else ""))

    def ended_by(self, who: str, cause: int | None) -> None:
        """Record who ended the call and with which cause (first report wins)."""
        if self.trace.hangup_by is None:
            self.trace.hangup_by = who
            self.trace.hangup_cause = cause

    async def play(self, media: str, label: str) -> str:
        """Play to the caller and wait for the end; returns the playback's final state
        (``done`` or ``failed``). Early media unless the caller was answered."""
        self._playbacks += 1
        pid = f"pb-{self.channel_id}-{self._playbacks}"
        early = not self.answered
        with self.env.events.expect(PlaybackFinished, channel_id=pid) as waiter:
            await self.env.ari.play(self.channel_id, media, playback_id=pid)
            done = await race(waiter.wait(), self.watch, timeout=self.env.playback_timeout)
        state = done.playback.state
        self.note(
            "play",
            f"{label}: {media} ({'early media' if early else 'answered'}) {state}",
            media=media,
            label=label,
            early_media=early,
            result=state,
        )
        if state == "failed":
            log.warning("prompt %s could not be played on %s", media, self.channel_id)
        return state

    async def hangup_caller(self, cause: int, why: str) -> None:
        """End the caller's channel with a Q.850 cause."""
        if self.watch.gone.is_set():
            return
        self._move(SessionState.ENDED)
        self.ended_by("engine", cause)
        reason = CAUSE_REASON.get(cause)
        self.note("hangup", f"caller hung up by the engine, cause {cause}: {why}", cause=cause)
        if reason is not None:
            await self.env.ari.hangup(self.channel_id, reason=reason, missing_ok=True)
        else:
            await self.env.ari.hangup(self.channel_id, reason_code=cause, missing_ok=True)

    # -- the call ---------------------------------------------------------------------------
    async def run(self) -> CallTrace:
        """Run the call to its end and return its trace."""
        self.note("start", f"call from {mask(self.caller_number)} to {mask(self.number)}")
        try:
            plan = await self._plan()
            await self._execute(plan)
        except CallerGone:
            self.ended_by("caller", self.watch.cause)
            self.note("gone", "the caller hung up")
        except asyncio.CancelledError:
            if self.state is SessionState.TALKING and not self.watch.gone.is_set():
                await asyncio.shield(self._hand_over())
            else:
                await asyncio.shield(self._fallback("the engine is shutting down"))
            raise
        except ConfigUnavailable as exc:
            await self._fallback(f"configuration unavailable: {exc}")
        except AriError as exc:
            await self._ari_failed(exc)
        except Exception as exc:
            log.exception("call %s failed", self.channel_id)
            await self._fallback(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.watch.close()
            self.trace.ended_at = self.now()
            self.note("end", "call ended")
            if self.env.on_end is not None and self.state is not SessionState.HANDED_OVER:
                try:
                    self.env.on_end(self.trace)
                except Exception:
                    log.exception("call-end hook failed for %s", self.channel_id)
        return self.trace

    async def _load_config(self) -> NumberConfig | None:
        """The number's config from the cache; the last known copy when the database is down."""
        return await load_config(self.env.configs, self.number, self.env.config_timeout)

    async def _proxy_session(self, config: NumberConfig | None) -> ProxySession | None:
        """The caller's reverse-masking session, looked up only for numbers that show as a
        verified caller ID (one indexed read); None when the database does not answer."""
        caller = try_normalize(self.caller_number)
        if config is None or not config.reverse_masking or not caller or not self.env.outbound:
            return None
        try:
            return await asyncio.wait_for(
                self.env.outbound.proxy_session(self.number, caller),
                self.env.config_timeout,
            )
        except (DatabaseError, TimeoutError) as exc:
            log.warning("call %s: no reverse-masking session read: %s", self.channel_id, exc)
            return None

    async def _plan(self) -> CallPlan:
        """Load the config (and the caller's reverse-masking session) and plan the call."""
        config = await self._load_config()
        session = await self._proxy_session(config)
        args = (config, self.caller_number, self.number, self.now())
        plan = self.env.planner(*args, *(() if session is None else (session,)))
        self.trace.state, self.trace.outcome = plan.state.value, plan.outcome.value
        self.trace.tenant_id = plan.tenant_id
        self.trace.caller = plan.caller.digits
        self.trace.config_version = plan.config_version
        self.trace.reasons = plan.reasons
        self.note(
            "plan",
            f"{plan.state.value} -> {plan.outcome.value}: " + "; ".join(plan.reasons),
            state=plan.state.value,
        )
        return plan

    async def _execute(self, plan: CallPlan) -> None:
        """Run the plan's steps in order; hang up with a normal clearing when the plan ends
        with the caller still there."""
        for step in plan.steps:
            await self._run_step(step)
        if not self.watch.gone.is_set() and self.state is not SessionState.ENDED:
            await self.hangup_caller(Cause.NORMAL_CLEARING, "the plan has ended")

    async def _run_step(self, step: Step) -> None:
        """Carry out one step; a step of a kind the session does not know is an error."""
        match step:
            case PlayStep():
                media = self.env.media.choose(step.prompt, step.system_prompt)
                if media is not None:
                    await self.play(media, (step.prompt_kind or step.system_prompt or "prompt"))
            case AnswerStep():
                await race(
                    self.env.ari.answer(self.channel_id),
                    self.watch,
                    timeout=self.env.request_timeout,
                )
                self.mark_answered()
            case DialStep():
                await Forwarder(self, step).run()
            case HangupStep():
                await self.hangup_caller(step.cause, step.reason)
            case MenuStep():
                await run_menu(self, step)
            case QueueStep():
                await run_queue(self, step.queue)
            case AccessStep():
                await run_access(self, step)
            case _:
                unknown_step(step)

    async def _ari_failed(self, error: AriError) -> None:
        """An ARI request of a step failed and the step did not handle it: the one place
        where such errors are logged, with the call id. When the caller hung up meanwhile
        the call simply ends as the caller's; otherwise it falls back."""
        try:
            await hung_up_meanwhile(error, self.watch)
        except CallerGone:
            self.ended_by("caller", self.watch.cause)
            self.note("gone", "the caller hung up")
            return
        log.warning("call %s: unexpected ARI error: %s", self.channel_id, error)
        await self._fallback(f"ARI error: {error}")

    async def _hand_over(self) -> None:
        """The engine stops mid-conversation: leave the two bridged and store the trace on
        the caller's channel, so the engine that adopts the call records it whole."""
        self.note("handover", "engine stopping: conversation left bridged for adoption")
        try:
            await asyncio.wait_for(
                self.env.ari.set_variable(
                    self.channel_id, HANDOVER_VAR, json.dumps(trace_to_json(self.trace))
                ),
                self.env.request_timeout,
            )
        except (AriError, TimeoutError) as exc:
            log.warning(
                "call %s: trace not handed over (%s); the adopting engine records what it sees",
                self.channel_id,
                exc,
            )
        self._move(SessionState.HANDED_OVER)
        log.info("call %s left bridged at shutdown", self.channel_id)

    async def _fallback(self, why: str) -> None:
        """Hand the caller back to the dialplan (its fallback forwards from AstDB), or hang
        up when it was already answered; never leave it in silence."""
        if self.watch.gone.is_set() or self.state is SessionState.ENDED:
            return
        answered = self.answered
        self._move(SessionState.ENDED)
        log.warning(
            "call %s: %s; %s",
            self.channel_id,
            why,
            "hanging up" if answered else "continuing in the dialplan",
        )
        self.note("fallback", why)
        try:
            if answered:
                self.ended_by("engine", Cause.FAILURE)
                await self.env.ari.hangup(self.channel_id, reason="failure", missing_ok=True)
            else:
                await self.env.ari.continue_in_dialplan(self.channel_id)
        except AriError as exc:
            log.error("fallback for %s failed (%s); hanging up", self.channel_id, exc)
            try:
                await self.env.ari.hangup(self.channel_id, reason="failure", missing_ok=True)
            except AriError:
                log.error("call %s could not be ended: it is left to Asterisk", self.channel_id)
