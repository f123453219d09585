"""How a caller leaves a queue without an agent: the callback key, or the overflow (after
the maximum wait, when no agent is logged in, or when the database fails under the wait).

The overflow forwards to the queue's overflow number, else plays its prompt (default
"cannot be reached") and hangs up. A database failure never drops the caller: the wait is
recorded as overflowed (written once the database is back, see ``QueueRuntime.record``)
and the caller goes to the overflow, which needs no database.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ivr_engine.calls.callback_request import CallbackNotPossible, leave_callback_request
from ivr_engine.calls.forward import Forwarder
from ivr_engine.domain.acd import CallOutcome
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.model import ForwardTarget, Strategy
from ivr_engine.domain.planner import DialStep
from ivr_engine.domain.queue_log import QueueEvent, seconds
from ivr_engine.errors import DatabaseError

if TYPE_CHECKING:
    from ivr_engine.calls.queue import QueueCall

log = logging.getLogger(__name__)


async def leave_with_callback(call: QueueCall) -> bool:
    """The caller pressed the callback key: leave a callback request, say goodbye and hang
    up (True). A caller who cannot be called back (no number) keeps waiting (False); a
    database failure is raised (the wait then ends in the overflow)."""
    s, q = call.s, call.q
    try:
        await leave_callback_request(s, source="queue", tenant_id=call.tenant, queue=q.id)
    except CallbackNotPossible as exc:
        s.note("callback", f"callback key ignored: {exc}", queue=q.id)
        call.key_pressed.clear()
        return False
    await call.record_exit(
        CallOutcome.CALLBACK,
        QueueEvent.EXITWITHKEY,
        q.callback_key,
        call.position,
        call.orig_position,
        seconds(call.waited()),
    )
    await call.close_holding()
    await s.play(call.env.media.system("goodbye"), "goodbye")
    await s.hangup_caller(Cause.NORMAL_CLEARING, "callback request left")
    return True


async def database_failed(call: QueueCall, exc: DatabaseError) -> None:
    """The database failed during the wait: the queue cannot reach its agents, so the
    caller leaves for the overflow rather than being dropped."""
    log.error(
        "call %s in queue %s: the database failed (%s); leaving for the overflow",
        call.s.channel_id,
        call.q.id,
        exc,
    )
    await overflow(call, QueueEvent.EXITEMPTY, f"the database failed: {exc}")


async def overflow(call: QueueCall, event: QueueEvent, why: str) -> None:
    """Leave for the overflow: forward, or an announcement and hang-up."""
    s, q = call.s, call.q
    await call.record_exit(
        CallOutcome.OVERFLOW, event, call.position, call.orig_position, seconds(call.waited())
    )
    s.note("overflow", f"queue {q.label}: {why}", queue=q.id)
    await call.close_holding()
    if q.overflow.forward is not None:
        step = DialStep(
            (ForwardTarget(q.overflow.forward, q.overflow.ring_seconds),),
            Strategy.SEQUENTIAL,
            s.trace.caller,
            None,
            None,
            None,
        )
        await Forwarder(s, step).run()
        return
    media = call.env.media.choose(q.overflow.prompt, "cannot-be-reached")
    if media is not None:
        await s.play(media, "queue-overflow")
    await s.hangup_caller(Cause.NORMAL_CLEARING, f"queue overflow: {why}")
