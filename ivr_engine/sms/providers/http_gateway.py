"""A generic HTTP JSON SMS gateway: one POST per text, fields named as the gateway wants.

The request body is a JSON object whose keys come from the field mapping (``to=recipient,
text=body, ...``); the idempotency key goes in a header (``Idempotency-Key``) and, when the
mapping names it, in the body too, so a gateway that has the text already answers without
sending it again. Answers:

* 2xx: sent (the message id is read from ``message_id_field`` when present);
* 409: the gateway already has this key: sent;
* 408, 425, 429, 5xx, timeouts, refused connections: transient, retried (``Retry-After`` is
  honoured);
* any other 4xx: refused for good.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
from typing import Any

import aiohttp

from ivr_engine.domain.numbers import mask
from ivr_engine.sms.config import SmsSettings, parse_auth_header, parse_fields
from ivr_engine.sms.providers import Outcome, OutgoingText, SendResult

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 425, 429})


def _retry_after(value: str | None) -> float | None:
    """The Retry-After header in seconds (only the delta-seconds form)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HttpGatewayProvider:
    """Sends texts through an HTTP JSON gateway (see the module docstring)."""

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        fields: tuple[tuple[str, str], ...],
        auth: tuple[str, str] | None = None,
        idempotency_header: str = "Idempotency-Key",
        message_id_field: str = "message_id",
        timeout: float = 10.0,
        limit: int = 256,
    ) -> None:
        self.url = url
        self.fields = fields
        self.auth = auth
        self.idempotency_header = idempotency_header
        self.message_id_field = message_id_field
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: SmsSettings) -> HttpGatewayProvider:
        """The provider the ``[sms]`` settings describe."""
        return cls(
            settings.url,
            fields=parse_fields(settings.fields),
            auth=parse_auth_header(settings.auth_header),
            idempotency_header=settings.idempotency_header,
            message_id_field=settings.message_id_field,
            timeout=float(settings.timeout_seconds),
            limit=max(settings.concurrency, 1),
        )

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {self.auth[0]: self.auth[1]} if self.auth else None
            connector = aiohttp.TCPConnector(limit=self._limit)
            self._session = aiohttp.ClientSession(
                headers=headers, connector=connector, timeout=self.timeout
            )
        return self._session

    def payload(self, text: OutgoingText) -> dict[str, Any]:
        """The JSON body for one text, by the field mapping (absent values are left out)."""
        values: dict[str, Any] = {
            "recipient": text.recipient,
            "sender": text.sender,
            "kind": text.kind,
            "subject": text.subject,
            "body": text.body,
            "idempotency_key": text.idempotency_key,
            "tenant_id": text.tenant_id,
            "number": text.sender,
            "image": base64.b64encode(text.image_data).decode() if text.image_data else None,
            "image_name": os.path.basename(text.image) if text.image else None,
        }
        return {name: values[source] for name, source in self.fields if values[source] is not None}

    async def send(self, text: OutgoingText) -> SendResult:
        """POST one text; classify the answer (never raises for a gateway problem)."""
        headers = {self.idempotency_header: text.idempotency_key}
        try:
            async with self._session_now().post(
                self.url, json=self.payload(text), headers=headers
            ) as resp:
                body = await resp.text()
                result = self._result(resp.status, body, resp.headers.get("Retry-After"))
            if result.outcome is Outcome.FAIL:
                log.warning(
                    "the gateway refused text %s to %s for good: HTTP %s",
                    text.idempotency_key,
                    mask(text.recipient),
                    resp.status,
                )
            return result
        except TimeoutError:
            return SendResult(Outcome.RETRY, error="gateway timed out")
        except aiohttp.ClientError as exc:
            return SendResult(Outcome.RETRY, error=f"gateway unreachable: {exc}")

    def _result(self, status: int, body: str, retry_after: str | None) -> SendResult:
        """Classify an HTTP answer."""
        if 200 <= status < 300 or status == 409:
            return SendResult(Outcome.SENT, message_id=self._message_id(body))
        error = f"HTTP {status}: {body[:200]}"
        if status in TRANSIENT_STATUS or status >= 500:
            return SendResult(Outcome.RETRY, error=error, retry_after=_retry_after(retry_after))
        return SendResult(Outcome.FAIL, error=error)

    def _message_id(self, body: str) -> str | None:
        """The gateway's id for the text, if its JSON answer has one."""
        with contextlib.suppress(ValueError):
            data = json.loads(body)
            if isinstance(data, dict) and data.get(self.message_id_field) is not None:
                return str(data[self.message_id_field])
        return None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
