"""What an engine leaves on Asterisk's objects so that the next one can record a call whole.

A conversation outlives the engine that set it up (a restart, a crash, ``kill -9``). The
engine that adopts it learns what happened before from three places, all written in requests
the call makes anyway:

* every target leg is originated with ``IVR_TARGET`` (the forward target) and
  ``IVR_HANDOVER`` (the call's trace as JSON up to that moment: the plan, the ringing, the
  attempts before, the prompts played) as channel variables;
* the conversation's bridge is named ``ivr-<caller channel>@<connect time in ms>``: the
  moment the caller was connected (and answered, unless a menu or a queue answered it
  before), on the engine's clock;
* a graceful stop sets ``IVR_HANDOVER`` on the caller's channel with the whole trace, which
  wins over the rest.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.numbers import mask
from ivr_engine.domain.trace import CallTrace, trace_from_json, trace_to_json

log = logging.getLogger(__name__)

HANDOVER_VAR = "IVR_HANDOVER"  # the call's trace, as JSON
TARGET_VAR = "IVR_TARGET"  # the forward target a leg rings
BRIDGE_PREFIX = "ivr-"


def leg_variables(trace: CallTrace, target: str, leg_id: str, started: datetime) -> dict[str, str]:
    """The channel variables a target leg is originated with: its target, and the trace so
    far with the leg itself (id, target, when it started ringing)."""
    data = trace_to_json(trace)
    data["leg"] = {"id": leg_id, "target": target, "started": started.isoformat()}
    return {TARGET_VAR: target, HANDOVER_VAR: orjson.dumps(data).decode()}


def bridge_name(caller_id: str, connected: datetime) -> str:
    """The name of the bridge joining a caller and a callee: the caller's channel id and the
    moment they were connected (milliseconds since the epoch)."""
    return f"{BRIDGE_PREFIX}{caller_id}@{round(connected.timestamp() * 1000)}"


def connected_at(name: str, caller_id: str) -> datetime | None:
    """The connect time a conversation bridge's name carries, None for other names."""
    head, sep, millis = name.rpartition("@")
    if not sep or head != f"{BRIDGE_PREFIX}{caller_id}" or not millis.isdigit():
        return None
    return datetime.fromtimestamp(int(millis) / 1000, UTC)


def decode(raw: str | None) -> tuple[CallTrace, dict[str, Any]] | None:
    """A handed-over trace and the leg it came with (empty for a caller's handover); None
    when absent or unreadable."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
        trace = trace_from_json(data)
        leg = data.get("leg") or {}
        if not isinstance(leg, dict):
            raise TypeError("leg is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("unusable handed-over trace (%s)", exc)
        return None
    return trace, leg


def complete_from_leg(trace: CallTrace, leg: dict[str, Any], connected: datetime) -> None:
    """Finish the trace a target leg carried (written when it was originated): that leg was
    answered and the caller connected to it at ``connected`` (and answered then, unless it
    was before); legs still ringing beside it (all rung at once) were cancelled when it won.
    Legs rung at once but made after it are not in its trace and stay unknown."""
    target = str(leg.get("target") or "")
    started = datetime.fromisoformat(leg["started"]) if leg.get("started") else None
    if not target or started is None:
        return
    trace.ring_started = trace.ring_started or started
    last_attempt = max((i for i, e in enumerate(trace.entries) if e.kind == "attempt"), default=-1)
    for entry in trace.entries[last_attempt + 1 :]:
        if entry.kind == "ring":  # rung with this leg, not settled before it was made
            ring = round((connected - entry.at).total_seconds(), 3)
            trace.attempts.append(
                Attempt(str(entry.data.get("target")), TargetResult.CANCELLED, None, ring)
            )
    trace.add(started, "ring", f"ringing {mask(target)}", target=target, leg=leg.get("id"))
    ring = round((connected - started).total_seconds(), 3)
    trace.attempts.append(Attempt(target, TargetResult.ANSWERED, None, ring))
    trace.answered_target = target
    if trace.answered_at is None:
        trace.answered_at = connected
        trace.add(connected, "answer", f"caller answered for {mask(target)}")
    trace.add(connected, "bridge", f"caller and {mask(target)} bridged")
