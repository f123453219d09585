"""Callback SMS settings: the provider, the worker's pace and how long history is kept.

Plain values only (text, whole numbers, true/false) so they fit the engine's settings file
as an ``[sms]`` table and ``IVR_SMS_<KEY>`` environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr_engine.errors import ConfigError

DEFAULT_FIELDS = (
    "to=recipient,from=sender,type=kind,subject=subject,text=body,key=idempotency_key,image=image"
)
SOURCES = (
    "recipient",
    "sender",
    "kind",
    "subject",
    "body",
    "idempotency_key",
    "image",
    "image_name",
    "tenant_id",
    "number",
)


@dataclass(frozen=True)
class SmsSettings:
    """How texts are sent (see README, "Callback SMS")."""

    provider: str = "log"  # log | http
    url: str = ""  # the HTTP gateway's send endpoint
    auth_header: str = ""  # e.g. "Authorization: Bearer <token>"
    fields: str = DEFAULT_FIELDS  # gateway_field=source, comma separated
    idempotency_header: str = "Idempotency-Key"
    message_id_field: str = "message_id"
    timeout_seconds: int = 10
    concurrency: int = 64  # texts in flight per worker
    batch_size: int = 32  # texts claimed at once (concurrency / batch_size lanes)
    lease_seconds: int = 60  # a claimed text not finished by then is sent again
    max_attempts: int = 8
    retry_base_seconds: int = 5
    retry_max_seconds: int = 1800
    poll_seconds: int = 5  # longest sleep between checks when no notification comes
    retention_days: int = 122  # finished texts (sent, failed, suppressed, ...) kept ~4 months
    webhook_token: str = ""  # delivery reports must carry it (header X-Webhook-Token)
    image_dir: str = "."  # where relative MMS image paths are read from


def parse_fields(spec: str) -> tuple[tuple[str, str], ...]:
    """``to=recipient,text=body`` as ((gateway field, source), ...); ConfigError if wrong."""
    pairs = []
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        name, sep, source = item.partition("=")
        name, source = name.strip(), source.strip()
        if not sep or not name or source not in SOURCES:
            raise ConfigError(
                f"sms.fields: {item!r} must be gateway_field=source with source "
                f"one of {', '.join(SOURCES)}"
            )
        pairs.append((name, source))
    if not any(source == "recipient" for _, source in pairs):
        raise ConfigError("sms.fields: no gateway field carries the recipient")
    return tuple(pairs)


def parse_auth_header(spec: str) -> tuple[str, str] | None:
    """``Name: value`` as a (name, value) pair; None when empty."""
    if not spec.strip():
        return None
    name, sep, value = spec.partition(":")
    if not sep or not name.strip():
        raise ConfigError("sms.auth_header: expected 'Header-Name: value'")
    return name.strip(), value.strip()


def validate_sms(settings: SmsSettings) -> SmsSettings:
    """Check the values that mean more than their type; raise ConfigError on the first."""
    if settings.provider not in ("log", "http"):
        raise ConfigError("sms.provider: expected log or http")
    if settings.provider == "http" and not settings.url.startswith(("http://", "https://")):
        raise ConfigError("sms.url: the http provider needs the gateway's http(s) URL")
    parse_fields(settings.fields)
    parse_auth_header(settings.auth_header)
    for name in (
        "timeout_seconds",
        "concurrency",
        "batch_size",
        "lease_seconds",
        "max_attempts",
        "retry_base_seconds",
        "retry_max_seconds",
        "poll_seconds",
        "retention_days",
    ):
        if getattr(settings, name) < 1:
            raise ConfigError(f"sms.{name}: must be at least 1")
    if settings.lease_seconds <= settings.timeout_seconds:
        raise ConfigError("sms.lease_seconds: must be longer than sms.timeout_seconds")
    return settings
