"""The real adapters satisfy the ports ``calls/`` is written against.

Checked twice: at run time, every method of a port exists on the adapter and accepts the
port's parameters (same names and kinds; extra parameters have defaults); statically, the
assignments at the bottom are type-checked by mypy in the test command (``make test``), so
a method added to a port but missing from the adapter fails the build.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from ivr_engine.asterisk.ari.client import AriClient
from ivr_engine.asterisk.ari.stream import EventStream
from ivr_engine.calls.ports import AriPort, ConfigSource, EventPort
from ivr_engine.calls.ports_store import AgentRepo, CallbackRepo, QueueRepo
from ivr_engine.store.cache import ConfigCache
from ivr_engine.store.repos import PgAgentRepo, PgCallbackRepo, PgQueueRepo

PAIRS: list[tuple[type, type]] = [
    (AriPort, AriClient),
    (EventPort, EventStream),
    (ConfigSource, ConfigCache),
    (AgentRepo, PgAgentRepo),
    (QueueRepo, PgQueueRepo),
    (CallbackRepo, PgCallbackRepo),
]


def _methods(port: type) -> list[str]:
    return [n for n, v in vars(port).items() if inspect.isfunction(v) and not n.startswith("_")]


def _mismatches(port: type, adapter: type) -> list[str]:
    """Why ``adapter`` cannot stand in for ``port`` (empty when it can)."""
    problems = []
    for name in _methods(port):
        impl = getattr(adapter, name, None)
        if impl is None:
            problems.append(f"{name}: missing")
            continue
        want = inspect.signature(getattr(port, name)).parameters
        have = inspect.signature(impl).parameters
        if inspect.iscoroutinefunction(getattr(port, name)) != inspect.iscoroutinefunction(impl):
            problems.append(f"{name}: async in one, not in the other")
        for pname, p in want.items():
            q = have.get(pname)
            if q is None or q.kind != p.kind:
                problems.append(f"{name}({pname}): not accepted the same way")
            elif p.default is not inspect.Parameter.empty and q.default is inspect.Parameter.empty:
                problems.append(f"{name}({pname}): optional in the port, required here")
        for pname, q in have.items():
            if (
                pname not in want
                and q.default is inspect.Parameter.empty
                and q.kind
                not in (
                    inspect.Parameter.VAR_POSITIONAL,
                    inspect.Parameter.VAR_KEYWORD,
                )
            ):
                problems.append(f"{name}({pname}): required here, unknown to the port")
    return problems


@pytest.mark.parametrize("port, adapter", PAIRS, ids=lambda c: c.__name__)
def test_the_adapter_accepts_every_call_of_the_port(port: type, adapter: type) -> None:
    assert _mismatches(port, adapter) == []


def test_the_check_catches_a_missing_or_different_method() -> None:
    class Partial:
        async def answer(self, channel: str) -> None: ...

    problems = _mismatches(AriPort, Partial)
    assert "ring: missing" in problems and "answer(channel_id): not accepted the same way" in (
        problems
    )


def _static_conformance(
    ari: AriClient,
    stream: EventStream,
    cache: ConfigCache,
    agents: PgAgentRepo,
    queue: PgQueueRepo,
    callbacks: PgCallbackRepo,
) -> list[Any]:
    """Never called: mypy checks these assignments (a port an adapter no longer satisfies
    is a type error here)."""
    a: AriPort = ari
    e: EventPort = stream
    c: ConfigSource = cache
    g: AgentRepo = agents
    q: QueueRepo = queue
    b: CallbackRepo = callbacks
    return [a, e, c, g, q, b]
