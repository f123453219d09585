"""What a text provider is: ``send(text) -> SendResult``, and the one configured."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    """How one send attempt ended."""

    SENT = "sent"  # the gateway accepted the text (or already had it: same key)
    RETRY = "retry"  # a transient failure: try again later
    FAIL = "fail"  # refused for good: never retried


@dataclass(frozen=True)
class OutgoingText:
    """One text as handed to a provider."""

    id: int
    idempotency_key: str
    tenant_id: str
    sender: str  # the virtual number the call came in on
    recipient: str
    kind: str  # sms | lms | mms
    body: str
    subject: str | None = None
    image: str | None = None  # the image's path (MMS)
    image_data: bytes | None = None  # the JPEG itself (MMS)


@dataclass(frozen=True)
class SendResult:
    """The provider's answer; ``retry_after`` is the gateway's own hint in seconds."""

    outcome: Outcome
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None


class Provider(Protocol):
    """Sends texts. Must be safe to call concurrently; must pass the idempotency key on."""

    name: str

    async def send(self, text: OutgoingText) -> SendResult:
        """Send one text; never raises for a gateway problem (returns RETRY or FAIL)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
