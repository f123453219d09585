"""Everything a call session needs, gathered once by the service and shared by sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ivr_engine.calls.media import PromptMedia
from ivr_engine.calls.ports import AriPort, Clock, ConfigSource, EventPort
from ivr_engine.calls.ports_outbound import OutboundDesk
from ivr_engine.calls.ports_store import CallbackRepo
from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.domain.planner import plan_call
from ivr_engine.domain.trace import CallTrace


def utc_now() -> datetime:
    """The current time, aware, in UTC (never the machine's local zone)."""
    return datetime.now(UTC)


@dataclass
class CallEnv:
    """Shared dependencies and limits of every call session of one engine."""

    ari: AriPort
    events: EventPort
    configs: ConfigSource
    app: str = "ivr-engine"
    trunk: str = "carrier"
    node: str = ""  # this engine instance's name, recorded with every call
    media: PromptMedia = field(default_factory=PromptMedia)
    clock: Clock = utc_now
    config_timeout: float = 2.0  # seconds to wait for a number's config before falling back
    playback_timeout: float = 300.0  # longest prompt the engine waits for
    request_timeout: float = 10.0  # one ARI request
    ring_margin: float = 5.0  # past a target's ring time, the engine ends the leg itself
    on_end: Callable[[CallTrace], None] | None = None  # called with every finished call
    planner: Callable[..., Any] = plan_call  # wrapped by the metrics to time it
    callbacks: CallbackRepo | None = None  # where callers' callback requests are kept
    queues: QueueRuntime | None = None  # the queue runtime, when this engine serves queues
    outbound: OutboundDesk | None = None  # members, outbound plans, reverse-masking sessions
    dialer: Any = None  # the EngineDialer placing this engine's outbound calls
    time_scale: float = 1.0  # simulated seconds per wall second of the clock Asterisk runs on
    digit_timeout: float = 4.0  # seconds between keys before a keyed number is taken as is
