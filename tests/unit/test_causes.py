"""Causes and event names have one home each: the tables agree with one another and with
the typed events the engine parses."""

from __future__ import annotations

from ivr_engine.asterisk import constants
from ivr_engine.asterisk.ari.events import EVENT_CLASSES
from ivr_engine.domain import causes
from ivr_engine.domain.causes import CAUSE_REASON, CAUSE_TXT, HANGUP_REASON_CAUSE, Cause
from ivr_engine.domain.planner import HangupStep
from ivr_engine.domain.render import describe_step


def _codes() -> dict[str, int]:
    return {k: v for k, v in vars(Cause).items() if k.isupper()}


def test_every_cause_code_has_asterisk_text_and_no_two_names_share_a_code() -> None:
    codes = _codes()
    assert len(set(codes.values())) == len(codes)
    assert all(code in CAUSE_TXT for code in codes.values())


def test_hangup_reasons_and_their_causes_are_inverse() -> None:
    assert {CAUSE_REASON[c] for c in HANGUP_REASON_CAUSE.values()} == set(HANGUP_REASON_CAUSE)
    assert CAUSE_REASON[Cause.NORMAL_CLEARING] == "normal"
    assert CAUSE_REASON[Cause.FAILURE] == "failure"
    assert Cause.CONGESTION not in (Cause.NORMAL_CLEARING, Cause.FAILURE)


def test_the_protocol_constants_are_the_domain_causes() -> None:
    assert constants.Cause is causes.Cause
    assert constants.CAUSE_TXT is causes.CAUSE_TXT
    assert constants.HANGUP_REASON_CAUSE is causes.HANGUP_REASON_CAUSE


def test_plans_describe_causes_with_asterisk_text() -> None:
    text = describe_step(HangupStep(Cause.CALL_REJECTED, "blocked"))
    assert text == "hang up with cause 21 (call rejected): blocked"


def test_typed_events_and_the_event_filter_use_the_constant_names() -> None:
    names = {v for k, v in vars(constants.AriEvent).items() if k.isupper()}
    assert set(EVENT_CLASSES) <= names, set(EVENT_CLASSES) - names
    assert set(constants.CALL_EVENT_TYPES) <= set(EVENT_CLASSES)
