"""Putting the callback text parts together from settings: provider, worker, outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from ivr_engine.sms.config import SmsSettings, validate_sms
from ivr_engine.sms.providers import Provider
from ivr_engine.sms.providers.http_gateway import HttpGatewayProvider
from ivr_engine.sms.providers.log_only import LogOnlyProvider
from ivr_engine.sms.stats import utc_now
from ivr_engine.sms.worker import SmsWorker, WorkerOptions


def sms_settings_of(settings: object) -> SmsSettings:
    """The ``[sms]`` settings of the engine's settings (defaults when it has none)."""
    found = getattr(settings, "sms", None)
    return validate_sms(found if isinstance(found, SmsSettings) else SmsSettings())


def make_provider(sms: SmsSettings) -> Provider:
    """The configured provider: the HTTP gateway, or log-only."""
    if sms.provider == "http":
        return HttpGatewayProvider.from_settings(sms)
    return LogOnlyProvider()


def worker_options(sms: SmsSettings) -> WorkerOptions:
    """The worker's pace from the settings."""
    return WorkerOptions(
        lanes=max(1, sms.concurrency // sms.batch_size),
        batch_size=sms.batch_size,
        lease=float(sms.lease_seconds),
        max_attempts=sms.max_attempts,
        retry_base=float(sms.retry_base_seconds),
        retry_max=float(sms.retry_max_seconds),
        poll=float(sms.poll_seconds),
        retention_days=sms.retention_days,
        image_dir=sms.image_dir,
    )


@asynccontextmanager
async def running_sms_worker(
    pool: asyncpg.Pool,
    listen_url: str,
    sms: SmsSettings,
    *,
    provider: Provider | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[SmsWorker]:
    """A started worker on ``pool`` (LISTEN on ``listen_url``), stopped on exit."""
    provider = provider or make_provider(sms)
    worker = SmsWorker(
        pool, provider, listen_url=listen_url, options=worker_options(sms), clock=clock
    )
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
        await provider.close()
