"""Automatic call distribution: which agent gets a waiting call, and the numbers a queue is
judged by. Pure: no I/O, no clock (times are passed in as epoch seconds or datetimes).

Selection (``rank``): the candidates are the queue's members that are ready, reachable and
not being offered another call. Lower ``priority`` numbers are always offered first; within
a priority the strategy orders them:

==============  ===========================================================================
ring_all        every candidate of the best priority rings at once (first to answer wins)
longest_idle    the one idle longest (oldest ``idle_since``; never-called first)
round_robin     the next one after the queue's last offered agent, in id order (memory)
fewest_calls    the one with the fewest answered calls in the period, then longest idle
weighted        the one furthest below its weight's share of the period's offers
sticky          the agent who last served this caller when ready, else longest idle
==============  ===========================================================================

Statistics (``queue_stats``): short abandons (hung up within the short-abandon threshold)
are counted on their own and left out of offered, abandoned, answer rate and service level.
Service level: ``answered within T / answered`` or, with abandoned calls counted,
``(answered within T + abandoned within T) / (answered + abandoned)`` (Asterisk's
ServicelevelPerf2).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ivr_engine.domain.queue_doc import AfterCall, QueueStrategy, ServiceLevelMode


class AgentState(StrEnum):
    """What an agent is doing."""

    OFFLINE = "offline"
    READY = "ready"
    REST = "rest"  # paused, with a reason (break, meeting, auto-pause ...)
    RINGING = "ringing"  # a call is being offered (claimed; never offered a second)
    ON_CALL = "on_call"
    WRAPUP = "wrapup"  # after-call work


class CallOutcome(StrEnum):
    """How one caller's stay in a queue ended."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting
    OVERFLOW = "overflow"  # the maximum wait passed, or no agent logged in
    CALLBACK = "callback"  # left a callback request with the callback key


@dataclass(frozen=True)
class Candidate:
    """A ready agent of the queue with what the strategies look at."""

    agent_id: str
    priority: int = 0
    weight: int = 1
    idle_since: float | None = None  # epoch seconds of the last call's end (None: never)
    calls_taken: int = 0  # answered calls in the period
    offered: int = 0  # calls offered in the period (weighted share)


def _idle_key(c: Candidate) -> float:
    return float("-inf") if c.idle_since is None else c.idle_since


def rank(
    strategy: QueueStrategy,
    candidates: Sequence[Candidate],
    *,
    k: int = 5,
    last_agent: str | None = None,
    sticky_agent: str | None = None,
) -> list[str]:
    """The agent ids to offer the call to, best first: up to ``k`` to try one by one, or
    (ring_all) every candidate of the best priority to ring together."""
    if not candidates:
        return []
    best = min(c.priority for c in candidates)
    if strategy is QueueStrategy.RING_ALL:
        tier = [c for c in candidates if c.priority == best]
        return [c.agent_id for c in sorted(tier, key=lambda c: (_idle_key(c), c.agent_id))]
    if strategy is QueueStrategy.ROUND_ROBIN:
        return _round_robin(candidates, last_agent, k)
    if strategy is QueueStrategy.WEIGHTED:
        return _weighted(candidates, k)
    if strategy is QueueStrategy.FEWEST_CALLS:
        chosen = heapq.nsmallest(
            k, candidates, key=lambda c: (c.priority, c.calls_taken, _idle_key(c), c.agent_id)
        )
        return [c.agent_id for c in chosen]
    chosen = heapq.nsmallest(k, candidates, key=lambda c: (c.priority, _idle_key(c), c.agent_id))
    ids = [c.agent_id for c in chosen]
    if strategy is QueueStrategy.STICKY and any(c.agent_id == sticky_agent for c in candidates):
        assert sticky_agent is not None
        return [sticky_agent, *(i for i in ids if i != sticky_agent)][:k]
    return ids


def _round_robin(candidates: Sequence[Candidate], last: str | None, k: int) -> list[str]:
    """Id order, starting just after ``last`` (wrapping), best priority first."""

    def key(c: Candidate) -> tuple[int, int, str]:
        after = 0 if last is None or c.agent_id > last else 1
        return (c.priority, after, c.agent_id)

    return [c.agent_id for c in heapq.nsmallest(k, candidates, key=key)]


def _weighted(candidates: Sequence[Candidate], k: int) -> list[str]:
    """Largest deficit first: weight share x (offers so far + 1) - own offers."""
    best = min(c.priority for c in candidates)
    tier = [c for c in candidates if c.priority == best]
    total_w = sum(max(1, c.weight) for c in tier)
    total_o = sum(c.offered for c in tier) + 1

    def deficit(c: Candidate) -> tuple[float, float, str]:
        return (-(max(1, c.weight) / total_w * total_o - c.offered), _idle_key(c), c.agent_id)

    ordered = [c.agent_id for c in heapq.nsmallest(k, tier, key=deficit)]
    if len(ordered) < k:
        rest = [c for c in candidates if c.priority != best]
        ordered += [
            c.agent_id
            for c in heapq.nsmallest(
                k - len(ordered), rest, key=lambda c: (c.priority, *deficit(c))
            )
        ]
    return ordered


def may_claim(position: int, ready_agents: int) -> bool:
    """A waiting caller at ``position`` (1 = head) may take an agent now: callers ahead of
    it are served first, one agent each."""
    return 1 <= position <= ready_agents


@dataclass(frozen=True)
class MissResult:
    """An agent's missed-in-a-row count after a missed offer, and whether to pause it."""

    missed_in_row: int
    pause: bool


def after_missed(missed_in_row: int, auto_pause_after: int) -> MissResult:
    """Count one more missed offer; pause once ``auto_pause_after`` (0: never) are reached."""
    count = missed_in_row + 1
    return MissResult(count, auto_pause_after > 0 and count >= auto_pause_after)


AUTO_PAUSE_REASON = "auto-pause"


@dataclass(frozen=True)
class AfterCallPlan:
    """An agent's state when a call ends, and the state that follows a wrap-up."""

    state: AgentState
    wrapup_seconds: int
    then: AgentState


def after_call(wrapup_seconds: int, then: AfterCall) -> AfterCallPlan:
    """After-call work for ``wrapup_seconds`` then ``then``; straight to ``then`` without."""
    final = AgentState(then.value)
    if wrapup_seconds > 0:
        return AfterCallPlan(AgentState.WRAPUP, wrapup_seconds, final)
    return AfterCallPlan(final, 0, final)


def expected_wait(position: int, avg_handle_seconds: float, agents_serving: int) -> float:
    """A caller's expected wait: the calls ahead of it (and its own) shared among the agents
    serving the queue, each taking the average handling time; 0 with no history."""
    if position <= 0 or avg_handle_seconds <= 0:
        return 0.0
    return position * avg_handle_seconds / max(1, agents_serving)


@dataclass(frozen=True)
class QueueCallFact:
    """One caller's stay in a queue, as statistics see it."""

    outcome: CallOutcome
    wait_seconds: float
    talk_seconds: float = 0.0


@dataclass(frozen=True)
class QueueStats:
    """A queue's numbers over a period."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    callbacks: int
    answer_rate: float | None  # answered / offered
    service_level: float | None
    avg_wait: float | None
    max_wait: float
    avg_talk: float | None


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def queue_stats(
    facts: Iterable[QueueCallFact],
    *,
    threshold: float,
    mode: ServiceLevelMode,
    short_abandon: float,
) -> QueueStats:
    """Offered, answered, abandoned, overflow, answer rate, service level, waits and talk
    (see the module docstring for what short abandons change)."""
    answered: list[QueueCallFact] = []
    abandoned: list[QueueCallFact] = []
    short = overflow = callbacks = 0
    waits: list[float] = []
    for f in facts:
        if f.outcome is CallOutcome.ABANDONED and f.wait_seconds < short_abandon:
            short += 1
            continue
        waits.append(f.wait_seconds)
        if f.outcome is CallOutcome.ANSWERED:
            answered.append(f)
        elif f.outcome is CallOutcome.ABANDONED:
            abandoned.append(f)
        elif f.outcome is CallOutcome.OVERFLOW:
            overflow += 1
        else:
            callbacks += 1
    offered = len(waits)
    in_time = sum(1 for f in answered if f.wait_seconds <= threshold)
    if mode is ServiceLevelMode.ANSWERED:
        level = _ratio(in_time, len(answered))
    else:
        gave_up = sum(1 for f in abandoned if f.wait_seconds <= threshold)
        level = _ratio(in_time + gave_up, len(answered) + len(abandoned))
    return QueueStats(
        offered=offered,
        answered=len(answered),
        abandoned=len(abandoned),
        short_abandoned=short,
        overflowed=overflow,
        callbacks=callbacks,
        answer_rate=_ratio(len(answered), offered),
        service_level=level,
        avg_wait=_ratio(sum(waits), len(waits)),
        max_wait=max(waits, default=0.0),
        avg_talk=_ratio(sum(f.talk_seconds for f in answered), len(answered)),
    )


def state_durations(
    spans: Iterable[tuple[str, datetime, datetime | None]], start: datetime, end: datetime
) -> dict[str, float]:
    """Seconds spent in each state within [start, end) from (state, since, until) spans;
    an open span (until None) runs to ``end``."""
    out: dict[str, float] = {}
    for state, since, until in spans:
        lo, hi = max(since, start), min(until or end, end)
        if hi > lo:
            out[state] = out.get(state, 0.0) + (hi - lo).total_seconds()
    return out
