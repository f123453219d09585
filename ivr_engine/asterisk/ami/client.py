"""``AmiClient``: the Asterisk Manager Interface actions the engine uses.

Actions get replies through futures keyed by ActionID; list actions collect their events up
to ``...Complete``; ``originate`` waits for the OriginateResponse event. Event handlers are
registered by name with ``on_event`` and must be ``async def`` (panoramisk wraps plain
functions with ``asyncio.coroutine``, gone since 3.11; we refuse them up front).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from panoramisk.message import Message

from ivr_engine.asterisk.ami import protocol as proto
from ivr_engine.asterisk.ami.connection import AmiConnection
from ivr_engine.asterisk.ami.protocol import AmiActionError


class AmiClient(AmiConnection):
    """``AmiClient(host, port, user, secret)``: ``await connect()``, actions, ``close()``."""

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    # -- actions -----------------------------------------------------------------------------
    async def action(
        self,
        action: Mapping[str, proto.ActionValue],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        check: bool = True,
    ) -> Message:
        """Send one action and return its response (AmiActionError on ``Error`` if ``check``)."""
        messages = await self._send(action, timeout=timeout, check=check)
        return messages[0]

    async def list_action(
        self,
        action: Mapping[str, proto.ActionValue],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[Message]:
        """Send a list action (CoreShowChannels, QueueStatus, ...); returns its item events."""
        messages = await self._send(action, timeout=timeout, is_list=True)
        return [m for m in messages[1:] if not m.get("Event", "").endswith("Complete")]

    async def ping(self) -> float:
        """Round trip of a Ping in seconds."""
        started = time.perf_counter()
        await self.action({"Action": "Ping"})
        return time.perf_counter() - started

    async def db_put(self, family: str, key: str, value: str) -> None:
        """Store a value in Asterisk's database (AstDB)."""
        await self.action({"Action": "DBPut", "Family": family, "Key": key, "Val": value})

    async def db_get(self, family: str, key: str) -> str | None:
        """A value from AstDB, or None if the key does not exist."""
        action = {"Action": "DBGet", "Family": family, "Key": key}
        try:
            messages = await self._send(action, final_event="DBGetResponse")
        except AmiActionError:
            return None
        for msg in messages[1:]:
            if msg.get("Event", "") == "DBGetResponse":
                return str(msg.get("Val", ""))
        return None

    async def db_del(self, family: str, key: str, *, missing_ok: bool = True) -> bool:
        """Delete an AstDB key; returns False if it did not exist (and ``missing_ok``)."""
        try:
            await self.action({"Action": "DBDel", "Family": family, "Key": key})
        except AmiActionError:
            if not missing_ok:
                raise
            return False
        return True

    async def originate(
        self,
        channel: str,
        *,
        exten: str | None = None,
        context: str | None = None,
        priority: int | None = None,
        application: str | None = None,
        data: str | None = None,
        ring_timeout_ms: int | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Message:
        """Originate asynchronously and return the OriginateResponse event (``Response``,
        ``Reason``: 4 answered, 5 busy, 3 no answer, 1 hung up, 0 failed, 8 congestion)."""
        action: dict[str, proto.ActionValue] = {
            "Action": "Originate",
            "Channel": channel,
            "Async": "true",
        }
        optional = {
            "Exten": exten,
            "Context": context,
            "Priority": priority,
            "Application": application,
            "Data": data,
            "Timeout": ring_timeout_ms,
            "CallerID": caller_id,
            "ChannelId": channel_id,
        }
        action.update({k: v for k, v in optional.items() if v is not None})
        if variables:
            action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        wait = timeout or ((ring_timeout_ms or 30000) / 1000 + self.action_timeout)
        messages = await self._send(action, timeout=wait, final_event="OriginateResponse")
        return messages[-1]
