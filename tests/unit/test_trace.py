"""A call's trace survives the JSON round trip used to hand a call over to another engine."""

import json
from datetime import UTC, datetime, timedelta

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.trace import CallTrace, trace_from_json, trace_to_json


def test_trace_round_trip() -> None:
    t0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    trace = CallTrace(
        "1.1",
        "05051234567",
        "010-2000-3000",
        t0,
        linkedid="1.1",
        caller="01020003000",
        tenant_id="gangnam-pizza",
        node="pbx-1",
    )
    trace.add(t0, "plan", "open -> forward", state="open")
    trace.add(t0 + timedelta(seconds=1), "ring", "ringing", target="01011112222", leg="1.1-t1")
    trace.attempts.append(Attempt("01011112222", TargetResult.ANSWERED, None, 3.2))
    trace.ring_started = t0 + timedelta(seconds=1)
    trace.answered_at = t0 + timedelta(seconds=4)
    trace.answered_target, trace.state, trace.outcome = "01011112222", "open", "forward"
    trace.reasons, trace.config_version = ("open hours 11:00-15:00",), 7
    back = trace_from_json(json.loads(json.dumps(trace_to_json(trace))))
    assert back == trace
