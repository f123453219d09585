"""A provider for development: texts are logged (numbers masked), never sent."""

from __future__ import annotations

import logging

from ivr_engine.domain.numbers import mask
from ivr_engine.sms.providers import Outcome, OutgoingText, SendResult

log = logging.getLogger(__name__)


class LogOnlyProvider:
    """Logs every text (not its body, which may hold numbers) and reports it sent; keeps
    the last ones for inspection."""

    name = "log"

    def __init__(self, keep: int = 1000) -> None:
        self.sent: list[OutgoingText] = []
        self._keep = keep

    async def send(self, text: OutgoingText) -> SendResult:
        """Log the text and accept it."""
        log.info(
            "text %s (%s, %d characters) from %s to %s",
            text.idempotency_key,
            text.kind,
            len(text.body),
            mask(text.sender),
            mask(text.recipient),
        )
        self.sent.append(text)
        del self.sent[: -self._keep]
        return SendResult(Outcome.SENT, message_id=f"log-{text.id}")

    async def close(self) -> None:
        """Nothing to release."""
