"""Administering callback texts: list, approve, discard, resend; policies; the opt-out list
and excluded contacts; the retention purge. What the ``ivr-engine sms`` commands call."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from ivr_engine.domain.config_doc import settings_from_data, settings_to_data
from ivr_engine.domain.numbers import normalize
from ivr_engine.domain.sms_policy import PolicyError, SmsPolicy, effective, merge_policies
from ivr_engine.domain.sms_rules import next_allowed
from ivr_engine.errors import NotFoundError, ValidationError
from ivr_engine.sms.images import check_policy_images
from ivr_engine.sms.stats import COUNTERS, utc_now
from ivr_engine.store.config_repo import fetch_number_config
from ivr_engine.store.executor import Executor
from ivr_engine.store.queries import queries

Clock = Callable[[], datetime]


async def list_texts(
    db: Executor,
    *,
    state: str | None = None,
    number: str | None = None,
    tenant: str | None = None,
    limit: int = 50,
) -> list[asyncpg.Record]:
    """Texts newest first, filtered by state, virtual number and tenant."""
    digits = normalize(number) if number else None
    return await db.fetch(queries()["sms_list"], state, digits, tenant, limit)


async def approve(db: Executor, ids: Sequence[int], clock: Clock = utc_now) -> list[int]:
    """Release held texts: each goes out at the first time its policy allows from now
    (an advertising text approved at night waits for 08:00). Returns the ids released."""
    done = []
    for text_id in ids:
        row = await db.fetchrow(queries()["sms_get"], text_id)
        if row is None or row["state"] != "held":
            continue
        config = await fetch_number_config(db, row["number"])
        tz = ZoneInfo(config.timezone if config else "Asia/Seoul")
        start = max(clock(), row["send_after"])
        if config is not None and config.callback_sms is not None:
            start = next_allowed(effective(config.callback_sms), tz, start)
        if await db.fetchval(queries()["sms_approve"], text_id, start, start.astimezone(tz).date()):
            done.append(text_id)
    return done


async def discard(db: Executor, ids: Sequence[int], reason: str = "discarded") -> list[int]:
    """Discard held or queued texts; returns the ids discarded."""
    rows = await db.fetch(queries()["sms_discard"], list(ids), reason)
    COUNTERS.discarded += len(rows)
    return [r["id"] for r in rows]


async def resend(db: Executor, text_id: int, clock: Clock = utc_now) -> int:
    """Queue a new text with the content of a sent, failed or discarded one (a new
    idempotency key, so the gateway sends it again); returns the new text's id."""
    row = await db.fetchrow(queries()["sms_get"], text_id)
    if row is None:
        raise NotFoundError(f"no text with id {text_id}")
    now = clock()
    config = await fetch_number_config(db, row["number"])
    tz = ZoneInfo(config.timezone if config else "Asia/Seoul")
    new_id = await db.fetchval(queries()["sms_resend"], text_id, now, now.astimezone(tz).date())
    if new_id is None:
        raise ValidationError(
            f"text {text_id} is {row['state']}: only sent, failed or "
            "discarded texts with a body can be sent again"
        )
    return int(new_id)


async def purge(db: Executor, before: datetime, batch: int = 5000) -> int:
    """Delete finished texts (sent, failed, suppressed, discarded) last changed before
    ``before``, in batches; returns how many. Opt-outs are never purged."""
    total = 0
    while True:
        status = await db.execute(queries()["sms_purge"], before, batch)
        count = int(status.split()[-1])
        total += count
        if count < batch:
            return total


# -- policies ----------------------------------------------------------------------------


async def _layers(
    db: Executor, *, number: str | None, tenant: str | None
) -> tuple[asyncpg.Record | None, asyncpg.Record | None]:
    """The (number row, tenant row) a policy command is about, locked for update."""
    q = queries()
    if number:
        nrow = await db.fetchrow(q["sms_number_settings"], normalize(number))
        if nrow is None:
            raise NotFoundError(f"no virtual number {number}")
        return nrow, await db.fetchrow(q["sms_tenant_settings"], nrow["tenant_id"])
    trow = await db.fetchrow(q["sms_tenant_settings"], tenant)
    if trow is None:
        raise NotFoundError(f"no tenant {tenant}")
    return None, trow


async def show_policy(
    db: Executor, *, number: str | None = None, tenant: str | None = None
) -> tuple[SmsPolicy | None, SmsPolicy | None]:
    """(the layer's own policy, the resolved policy) of a number, or a tenant's."""
    nrow, trow = await _layers(db, number=number, tenant=tenant)
    assert trow is not None
    base = settings_from_data(trow["settings"]).callback_sms
    if nrow is None:
        return base, base
    own = settings_from_data(nrow["settings"]).callback_sms
    return own, merge_policies(base, own)


async def set_policy(
    db: asyncpg.Pool,
    policy: SmsPolicy | None,
    *,
    number: str | None = None,
    tenant: str | None = None,
    image_dir: str = ".",
) -> SmsPolicy | None:
    """Save (or with None, remove) the policy of a number or a tenant through the settings
    layer, as ``ivr-engine load`` does; returns the resolved policy. Refuses images that
    are not JPEG or too large, and advertising without an opt-out number once merged."""
    async with db.acquire() as conn, conn.transaction():
        nrow, trow = await _layers(conn, number=number, tenant=tenant)
        assert trow is not None
        row = nrow or trow
        layer = settings_from_data(row["settings"])
        resolved = policy
        if nrow is not None:
            resolved = merge_policies(settings_from_data(trow["settings"]).callback_sms, policy)
        if resolved is not None:
            full = effective(resolved)
            if full.advertising and not full.optout_number:
                raise PolicyError(
                    "an advertising text needs optout_number (무료거부 080-...)", "callback_sms"
                )
            check_policy_images(full, image_dir)
        data = settings_to_data(dataclasses.replace(layer, callback_sms=policy))
        settings_from_data(data)  # what the store reads back must parse
        stored = {k: v for k, v in row["settings"].items() if k != "callback_sms"}
        if policy is not None:
            stored["callback_sms"] = data["callback_sms"]
        if nrow is not None:
            await conn.execute(queries()["sms_set_number_settings"], nrow["number"], stored)
        else:
            await conn.execute(queries()["sms_set_tenant_settings"], trow["id"], stored)
        return resolved


# -- opt-outs and excluded contacts ---------------------------------------------------------


async def add_optouts(
    db: Executor, tenant: str, numbers: Sequence[str], source: str = "manual"
) -> int:
    """Add recipients to the tenant's opt-out list; returns how many were new."""
    added = 0
    for raw in numbers:
        status = await db.execute(queries()["sms_optout_add"], tenant, normalize(raw), source)
        added += int(status.split()[-1])
    return added


async def list_optouts(db: Executor, tenant: str) -> list[asyncpg.Record]:
    """The tenant's opt-out list."""
    return await db.fetch(queries()["sms_optout_list"], tenant)


async def remove_optout(db: Executor, tenant: str, number: str) -> bool:
    """Take a recipient off the opt-out list (they asked to be texted again)."""
    status = await db.execute(queries()["sms_optout_remove"], tenant, normalize(number))
    return status.endswith(" 1")


async def add_excluded(db: Executor, tenant: str, contacts: Sequence[tuple[str, str]]) -> int:
    """Add (number, name) pairs to the tenant's excluded contacts; returns how many."""
    for raw, name in contacts:
        await db.execute(queries()["sms_exclude_add"], tenant, normalize(raw), name)
    return len(contacts)


async def list_excluded(db: Executor, tenant: str) -> list[asyncpg.Record]:
    """The tenant's excluded contacts."""
    return await db.fetch(queries()["sms_exclude_list"], tenant)
