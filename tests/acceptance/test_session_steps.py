"""A call session runs every step kind of a plan and fails loudly on one it does not know:
the error is logged and the caller goes back to the dialplan (its fallback forwards from
AstDB), instead of the step being skipped and the rest of the plan carried out."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any, ClassVar

import pytest

from ivr_engine.domain.planner import CallPlan
from ivr_engine.sim import Behaviour

from .conftest import EngineFactory

OPEN = datetime(2026, 11, 20, 12, 0)
GANGNAM, FIRST = "05051234567", "01011112222"


@dataclasses.dataclass(frozen=True)
class TransferStep:
    """A step kind no executor knows (as a newer planner might send)."""

    action: ClassVar[str] = "transfer"


async def test_an_unknown_step_hands_the_caller_back_to_the_dialplan(
    call_engine: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = await call_engine(OPEN)
    planner = h.engine.env.planner

    def with_unknown_step(*args: Any) -> CallPlan:
        plan: CallPlan = planner(*args)
        return dataclasses.replace(plan, steps=(TransferStep(), *plan.steps))  # type: ignore[arg-type]

    h.engine.env.planner = with_unknown_step
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=5.0))  # were it rung
    with caplog.at_level(logging.ERROR, logger="ivr_engine.calls.session"):
        call = await h.call(GANGNAM, "01020003000")
        trace = await h.finished(call, timeout=20)

    fallback = [e.text for e in trace.entries if e.kind == "fallback"]
    assert len(fallback) == 1 and "cannot run a TransferStep step" in fallback[0], fallback
    assert trace.attempts == [], "the rest of the plan was carried out"
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
    heard = h.kinds(call.channel_id)
    assert "declined" in heard or "dial" in heard[2:], heard  # back in the dialplan
