"""Agent endpoints' reachability from AMI, and the timers behind agent states.

``DeviceStateWatcher`` follows AMI ``DeviceStateChange`` (``Device: PJSIP/kim``, ``State:
UNAVAILABLE``), ``PeerStatus`` (``Peer``, ``PeerStatus: Unreachable|Unregistered|...``) and
queue-member events carrying a numeric device ``Status`` (``QueueMemberStatus``:
``StateInterface`` or ``Interface``), and marks the agents using that endpoint reachable or
not, so an unregistered phone is not rung. At start it asks for the current states with
``DeviceStateList`` (when the Asterisk offers it). Agents on outside numbers are always
taken as reachable.

``AgentTimers`` is the queue runtime's periodic task: it writes what the database could not
take before, ends after-call work whose time is up (waking this engine's waiting callers)
and refreshes the live queue gauges, once per interval of the engine's clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from ivr_engine.calls.ports_store import AgentRepo
from ivr_engine.calls.queue_runtime import QueueRuntime
from ivr_engine.errors import DatabaseError

log = logging.getLogger(__name__)

UNREACHABLE_STATES = frozenset({"UNAVAILABLE", "INVALID"})
UNREACHABLE_PEER = frozenset({"UNREACHABLE", "UNREGISTERED", "REJECTED"})
# QueueMemberStatus Status: 0 UNKNOWN, 1 NOT_INUSE, 2 INUSE, 3 BUSY, 4 INVALID,
# 5 UNAVAILABLE, 6 RINGING, 7 RINGINUSE, 8 ONHOLD.
DEVICE_STATUS = {
    "0": "UNKNOWN",
    "1": "NOT_INUSE",
    "2": "INUSE",
    "3": "BUSY",
    "4": "INVALID",
    "5": "UNAVAILABLE",
    "6": "RINGING",
    "7": "RINGINUSE",
    "8": "ONHOLD",
}


def reachability(event: Mapping[str, Any]) -> tuple[str, bool, str] | None:
    """(endpoint, reachable, device state) from one AMI event, or None when it says nothing
    about an agent endpoint."""
    name = str(event.get("Event", ""))
    if name == "DeviceStateChange":
        device, state = str(event.get("Device", "")), str(event.get("State", "")).upper()
    elif name == "PeerStatus":
        device = str(event.get("Peer", ""))
        status = str(event.get("PeerStatus", "")).upper()
        state = "UNAVAILABLE" if status in UNREACHABLE_PEER else "NOT_INUSE"
    elif name in ("QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause"):
        device = str(event.get("StateInterface") or event.get("Interface") or "")
        state = DEVICE_STATUS.get(str(event.get("Status", "")), "")
    else:
        return None
    if not device.upper().startswith("PJSIP/") or not state:
        return None
    return f"PJSIP/{device[6:]}", state not in UNREACHABLE_STATES, state


class DeviceStateWatcher:
    """Keeps ``agents.reachable`` in line with the endpoints' device states."""

    def __init__(
        self, agents: AgentRepo, ami: Any, on_change: Callable[[str, bool], None] | None = None
    ) -> None:
        self.agents = agents
        self.ami = ami
        self.on_change = on_change

    async def start(self) -> None:
        """Subscribe to the events, then ask for the current device states."""
        for name in ("DeviceStateChange", "PeerStatus", "QueueMemberStatus"):
            self.ami.on_event(name, self.handle)
        try:
            for message in await self.ami.list_action({"Action": "DeviceStateList"}):
                await self.handle(message)
        except Exception as exc:  # an Asterisk without DeviceStateList: events only
            log.info("DeviceStateList not available (%s); following events only", exc)

    async def handle(self, message: Mapping[str, Any]) -> None:
        """Apply one AMI event."""
        found = reachability(
            {"Event": "DeviceStateChange", **dict(message)}
            if "Device" in message and "Event" not in message
            else message
        )
        if found is None:
            return
        endpoint, reachable, state = found
        agents = await self.agents.set_reachable(endpoint, reachable, state)
        if agents:
            log.info(
                "endpoint %s is %s (%s)",
                endpoint,
                "reachable" if reachable else "unreachable",
                state,
            )
            if self.on_change is not None:
                self.on_change(endpoint, reachable)


class AgentTimers:
    """The queue runtime's one periodic task per engine: every ``interval`` seconds of the
    engine's clock it writes the deferred queue writes, ends due wrap-ups (waking this
    engine's waiting callers) and refreshes the gauges. Waiting callers never sweep
    wrap-ups themselves."""

    def __init__(
        self,
        runtime: QueueRuntime,
        clock: Callable[[], datetime],
        *,
        interval: float = 1.0,
        refresh: Callable[[datetime], Awaitable[None]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.interval = interval
        self.refresh = refresh
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> list[str]:
        """One round (see the class docstring); returns the agents released."""
        await self.runtime.flush()
        now = self.clock()
        released = await self.runtime.agents.release_wrapups(now=now)
        if released:
            self.runtime.notify()
        if self.refresh is not None:
            await self.refresh(now)
        return released

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except DatabaseError as exc:
                log.warning("agent timers: %s", exc)
            await asyncio.sleep(self.runtime.wall(self.interval))

    def start(self) -> None:
        """Run the timers in the background."""
        self._task = asyncio.create_task(self._run(), name="agent-timers")

    async def stop(self) -> None:
        """Stop the timers."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None
