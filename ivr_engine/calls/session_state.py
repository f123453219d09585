"""Where a call session is with the caller's channel: one state, moved only along the
transitions below (any other move is a bug and raises)."""

from __future__ import annotations

from enum import StrEnum


class SessionState(StrEnum):
    """The caller's channel as the session sees it."""

    RINGING = "ringing"  # not answered: early media at most
    ANSWERED = "answered"  # answered (by the engine, for a target, or before the app)
    TALKING = "talking"  # bridged with a callee
    ENDED = "ended"  # hung up by the engine, or handed back to the dialplan
    HANDED_OVER = "handed_over"  # left bridged at shutdown for the engine that adopts it


# state -> the states it may move to. ANSWERED -> ANSWERED: answered for a target after a
# menu; ENDED -> ENDED: a second hang-up is a no-op.
TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.RINGING: frozenset({SessionState.ANSWERED, SessionState.ENDED}),
    SessionState.ANSWERED: frozenset(
        {SessionState.ANSWERED, SessionState.TALKING, SessionState.ENDED}
    ),
    SessionState.TALKING: frozenset({SessionState.ENDED, SessionState.HANDED_OVER}),
    SessionState.ENDED: frozenset({SessionState.ENDED}),
    SessionState.HANDED_OVER: frozenset(),
}

# States in which the caller's channel is answered and still the session's.
ANSWERED_STATES = frozenset({SessionState.ANSWERED, SessionState.TALKING})


class IllegalTransition(RuntimeError):
    """A session tried a move its state does not allow (a bug in an executor)."""

    def __init__(self, channel_id: str, before: SessionState, after: SessionState) -> None:
        super().__init__(f"call {channel_id}: {before.value} -> {after.value} is not allowed")
        self.before, self.after = before, after


def moved(channel_id: str, before: SessionState, after: SessionState) -> SessionState:
    """``after`` when the move is allowed; IllegalTransition otherwise."""
    if after not in TRANSITIONS[before]:
        raise IllegalTransition(channel_id, before, after)
    return after
