"""Call records: what one finished call was, built from its session trace.

Pure: ``build_record(trace)`` turns a ``CallTrace`` into a frozen ``CallRecord`` that the
CDR writer stores, the ``cdr`` view shows in Asterisk's columns and the statistics count.

Times follow Asterisk's CDR arithmetic (protocol facts D): ``duration`` is
floor(end - start) and ``billsec`` floor(end - talk start) in whole seconds; ``ring_seconds``
is how long the caller waited while targets rang, to the millisecond.

Disposition, in order of precedence:

* the plan refused the call: UNALLOCATED, PAUSED, BLOCKED, or CLOSED (with the schedule
  state that closed it: after_hours, lunch, holiday, block_period);
* a target was connected: ANSWERED;
* the caller hung up before any target answered (while ringing, or during the greeting,
  or before the plan was made): ABANDONED;
* the callee hung up before the caller was connected (during the whisper): NO_ANSWER;
* otherwise the reason no target answered: BUSY (any target busy), NO_ANSWER, or FAILED
  (unreachable targets, no target configured, the engine handed the call back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ivr_engine.domain.dialing import Attempt, TargetResult, final_cause
from ivr_engine.domain.trace import CallTrace


class Disposition(StrEnum):
    """How a call ended, in the product's terms."""

    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"
    BLOCKED = "BLOCKED"
    CLOSED = "CLOSED"
    PAUSED = "PAUSED"
    UNALLOCATED = "UNALLOCATED"


class ClosedState(StrEnum):
    """Which schedule state closed a CLOSED call."""

    AFTER_HOURS = "after_hours"
    LUNCH = "lunch"
    HOLIDAY = "holiday"
    BLOCK_PERIOD = "block_period"


# Asterisk's CDR disposition values (cdr.c); CANCEL is not enabled, so it reads NO ANSWER.
AST_ANSWERED, AST_NO_ANSWER, AST_BUSY = "ANSWERED", "NO ANSWER", "BUSY"
AST_FAILED, AST_CONGESTION = "FAILED", "CONGESTION"
_AST_BY_CAUSE = {17: AST_BUSY, 34: AST_CONGESTION, 16: AST_NO_ANSWER, 19: AST_NO_ANSWER}

_CLOSED_OF = {
    "closed": ClosedState.AFTER_HOURS,
    "lunch": ClosedState.LUNCH,
    "holiday": ClosedState.HOLIDAY,
    "block_period": ClosedState.BLOCK_PERIOD,
}
_REFUSED_OF = {
    "unallocated": Disposition.UNALLOCATED,
    "paused": Disposition.PAUSED,
    "blocked_caller": Disposition.BLOCKED,
}
_FAILED_OF_CAUSE = {17: Disposition.BUSY, 19: Disposition.NO_ANSWER}


@dataclass(frozen=True)
class CallRecord:
    """One finished call, as stored in ``call_records`` (``call_id`` is the idempotent key)."""

    call_id: str
    uniqueid: str
    linkedid: str
    tenant_id: str | None
    number: str
    caller: str  # normalised digits; '' for anonymous or malformed caller IDs
    caller_raw: str
    start_time: datetime
    ring_time: datetime | None  # the first target leg started ringing
    answer_time: datetime | None  # the caller's channel was answered (Asterisk's "answer")
    connect_time: datetime | None  # the caller was connected to a target: talk starts
    end_time: datetime
    ring_seconds: float
    billsec: int  # talk seconds: floor(end - connect), 0 when no target answered
    duration: int  # floor(end - start)
    disposition: Disposition
    closed_state: ClosedState | None
    asterisk_disposition: str  # ANSWERED / NO ANSWER / BUSY / FAILED / CONGESTION
    attempts: tuple[Attempt, ...]
    answered_target: str | None
    prompts: tuple[dict[str, Any], ...]
    hangup_by: str | None  # caller | callee | engine
    hangup_cause: int | None
    plan_state: str | None
    reasons: tuple[str, ...]
    config_version: int | None
    node: str
    channel: str = ""  # the caller's Asterisk channel name, as in Asterisk's CDR
    dstchannel: str = ""  # the target leg connected (or the last one dialled)
    # Outbound calls (``domain.outbound_record``): who called, what the customer saw, whom.
    direction: str = "inbound"  # inbound | outbound
    member: str | None = None  # the member's mobile
    caller_id_shown: str | None = None
    destination: str | None = None
    charged_seconds: int | None = None  # taken from the member's allowance

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (the journal's line format)."""
        return {
            "call_id": self.call_id,
            "uniqueid": self.uniqueid,
            "linkedid": self.linkedid,
            "tenant_id": self.tenant_id,
            "number": self.number,
            "caller": self.caller,
            "caller_raw": self.caller_raw,
            "start_time": _iso(self.start_time),
            "ring_time": _iso(self.ring_time),
            "answer_time": _iso(self.answer_time),
            "connect_time": _iso(self.connect_time),
            "end_time": _iso(self.end_time),
            "ring_seconds": self.ring_seconds,
            "billsec": self.billsec,
            "duration": self.duration,
            "disposition": self.disposition.value,
            "closed_state": self.closed_state.value if self.closed_state else None,
            "asterisk_disposition": self.asterisk_disposition,
            "attempts": attempts_json(self.attempts),
            "answered_target": self.answered_target,
            "prompts": list(self.prompts),
            "hangup_by": self.hangup_by,
            "hangup_cause": self.hangup_cause,
            "plan_state": self.plan_state,
            "reasons": list(self.reasons),
            "config_version": self.config_version,
            "node": self.node,
            "channel": self.channel,
            "dstchannel": self.dstchannel,
            "direction": self.direction,
            "member": self.member,
            "caller_id_shown": self.caller_id_shown,
            "destination": self.destination,
            "charged_seconds": self.charged_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        """The record back from ``to_json()``; KeyError or ValueError on a damaged line."""
        closed = data["closed_state"]
        return cls(
            data["call_id"],
            data["uniqueid"],
            data["linkedid"],
            data["tenant_id"],
            data["number"],
            data["caller"],
            data["caller_raw"],
            _required_time(data["start_time"]),
            _time(data["ring_time"]),
            _time(data["answer_time"]),
            _time(data["connect_time"]),
            _required_time(data["end_time"]),
            float(data["ring_seconds"]),
            int(data["billsec"]),
            int(data["duration"]),
            Disposition(data["disposition"]),
            ClosedState(closed) if closed else None,
            data["asterisk_disposition"],
            tuple(
                Attempt(
                    a["target"], TargetResult(a["result"]), a["cause"], float(a["ring_seconds"])
                )
                for a in data["attempts"]
            ),
            data["answered_target"],
            tuple(data["prompts"]),
            data["hangup_by"],
            data["hangup_cause"],
            data["plan_state"],
            tuple(data["reasons"]),
            data["config_version"],
            data["node"],
            data.get("channel", ""),  # journal lines written before these fields existed
            data.get("dstchannel", ""),
            data.get("direction", "inbound"),
            data.get("member"),
            data.get("caller_id_shown"),
            data.get("destination"),
            data.get("charged_seconds"),
        )


def attempts_json(attempts: tuple[Attempt, ...] | list[Attempt]) -> list[dict[str, Any]]:
    """Target attempts as JSON objects: target, result, cause, ring_seconds."""
    return [
        {
            "target": a.target,
            "result": a.result.value,
            "cause": a.cause,
            "ring_seconds": a.ring_seconds,
        }
        for a in attempts
    ]


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _required_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def whole_seconds(start: datetime | None, end: datetime) -> int:
    """floor(end - start) in seconds, never negative; 0 when ``start`` is missing."""
    if start is None:
        return 0
    return max(0, math.floor((end - start).total_seconds()))


def _end_time(trace: CallTrace) -> datetime:
    """When the call ended: the trace's end, else its last entry, else its start."""
    if trace.ended_at is not None:
        return trace.ended_at
    times = [e.at for e in trace.entries]
    return max([trace.started, *times])


def _connect_time(trace: CallTrace) -> datetime | None:
    """When the caller was connected to a target (the bridge), None when no target was."""
    if trace.answered_target is None:
        return None
    bridged = next((e.at for e in trace.entries if e.kind == "bridge"), None)
    return bridged or trace.answered_at


def _ring_seconds(trace: CallTrace, connect: datetime | None, end: datetime) -> float:
    """How long the caller waited while targets rang (to the connect, the last attempt's
    end, or the end of the call)."""
    if trace.ring_started is None:
        return 0.0
    stop = connect
    if stop is None:
        attempts = [e.at for e in trace.entries if e.kind == "attempt"]
        stop = max(attempts) if attempts else end
    return round(max(0.0, (stop - trace.ring_started).total_seconds()), 3)


def _forward_disposition(trace: CallTrace) -> Disposition:
    """The disposition of a call that was to be forwarded (or whose plan is unknown)."""
    if trace.answered_target is not None:
        return Disposition.ANSWERED
    if trace.hangup_by == "caller":
        return Disposition.ABANDONED
    if trace.hangup_by == "callee":  # during the whisper, before the caller was connected
        return Disposition.NO_ANSWER
    if trace.state is None or not trace.attempts:
        return Disposition.FAILED
    return _FAILED_OF_CAUSE.get(final_cause(trace.attempts), Disposition.FAILED)


def disposition_of(trace: CallTrace) -> tuple[Disposition, ClosedState | None]:
    """The call's disposition and, for CLOSED, which state closed it."""
    refused = _REFUSED_OF.get(trace.state or "")
    if refused is not None:
        return refused, None
    if trace.outcome == "announce" and trace.state in _CLOSED_OF:
        return Disposition.CLOSED, _CLOSED_OF[trace.state]
    return _forward_disposition(trace), None


def asterisk_disposition(
    answered: bool, hangup_cause: int | None, caller_left: bool = False
) -> str:
    """What Asterisk's CDR would say for the caller's channel: ANSWERED once it was answered,
    otherwise from the hangup cause (17 BUSY, 34 CONGESTION, 16/19 NO ANSWER, else FAILED);
    a caller who gave up before the answer reads NO ANSWER (CANCEL is not enabled)."""
    if answered:
        return AST_ANSWERED
    if caller_left:
        return AST_NO_ANSWER
    if hangup_cause is None:
        return AST_FAILED
    return _AST_BY_CAUSE.get(hangup_cause, AST_FAILED)


def build_record(trace: CallTrace) -> CallRecord:
    """The call record of a finished call session."""
    end = _end_time(trace)
    connect = _connect_time(trace)
    disposition, closed = disposition_of(trace)
    attempts = tuple(trace.attempts)
    return CallRecord(
        call_id=trace.channel_id,
        uniqueid=trace.channel_id,
        linkedid=trace.linkedid or trace.channel_id,
        tenant_id=trace.tenant_id,
        number=trace.number,
        caller=trace.caller,
        caller_raw=trace.caller_raw,
        start_time=trace.started,
        ring_time=trace.ring_started,
        answer_time=trace.answered_at,
        connect_time=connect,
        end_time=end,
        ring_seconds=_ring_seconds(trace, connect, end),
        billsec=whole_seconds(connect, end),
        duration=whole_seconds(trace.started, end),
        disposition=disposition,
        closed_state=closed,
        asterisk_disposition=asterisk_disposition(
            trace.answered_at is not None,
            trace.hangup_cause,
            caller_left=trace.hangup_by == "caller" or disposition is Disposition.ABANDONED,
        ),
        attempts=attempts,
        answered_target=trace.answered_target,
        prompts=tuple(trace.prompts()),
        hangup_by=trace.hangup_by,
        hangup_cause=trace.hangup_cause,
        plan_state=trace.state,
        reasons=tuple(trace.reasons) + _extra_reasons(trace),
        config_version=trace.config_version,
        node=trace.node,
        channel=trace.channel_name,
        dstchannel=trace.dst_channel,
    )


def _extra_reasons(trace: CallTrace) -> tuple[str, ...]:
    """What the session added beyond the plan's reasons (a fallback, a talk limit)."""
    return tuple(e.text for e in trace.entries if e.kind in ("fallback", "limit"))
