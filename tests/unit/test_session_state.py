"""A call session's state moves only along its transitions."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from ivr_engine.asterisk.ari.models import Channel
from ivr_engine.calls.session import CallSession
from ivr_engine.calls.session_state import TRANSITIONS, IllegalTransition, SessionState


class NoEvents:
    """An event port that delivers nothing (these tests make no calls)."""

    def subscribe(self, handler: Any, **kw: Any) -> Any:
        return SimpleNamespace(close=lambda: None)


def session(state: str = "Ring") -> CallSession:
    env: Any = SimpleNamespace(events=NoEvents(), clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    env.node = ""
    channel = Channel.from_json(
        {
            "id": "c1",
            "name": "PJSIP/carrier-1",
            "state": state,
            "caller": {"name": "", "number": "01020003000"},
            "dialplan": {"context": "from-carrier", "exten": "05051234567", "priority": 1},
        }
    )
    return CallSession(env, channel)


def test_a_ringing_call_is_answered_then_bridged() -> None:
    s = session()
    assert s.state is SessionState.RINGING and not s.answered
    s.mark_answered("01011112222")
    assert s.state is SessionState.ANSWERED and s.answered and not s.talking
    s.bridged()
    assert s.state is SessionState.TALKING and s.answered and s.talking


def test_a_channel_answered_before_the_app_starts_answered() -> None:
    assert session("Up").state is SessionState.ANSWERED


def test_moves_the_table_does_not_allow_raise() -> None:
    s = session()
    with pytest.raises(IllegalTransition, match="ringing -> talking"):
        s.bridged()  # never bridged before it is answered
    s.state = SessionState.ENDED
    with pytest.raises(IllegalTransition):
        s.mark_answered()
    assert s.state is SessionState.ENDED


def test_every_state_is_in_the_table_and_the_final_ones_lead_nowhere_else() -> None:
    assert set(TRANSITIONS) == set(SessionState)
    assert TRANSITIONS[SessionState.HANDED_OVER] == frozenset()
    assert TRANSITIONS[SessionState.ENDED] == {SessionState.ENDED}
