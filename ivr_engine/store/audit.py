"""The audit log: one row per write (and per reveal of a full phone number), append-only.

Rows are written in the same transaction as the change they describe, so a change without
its audit row (or the reverse) cannot exist. The table refuses UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ivr_engine.store.executor import Executor


def jsonable(value: Any) -> Any:
    """``value`` with times, sets and other non-JSON values turned into JSON ones."""
    if value is None:
        return None
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


@dataclass(frozen=True)
class Actor:
    """Who did it, for the log: the user (None for the CLI / engine), how, from where."""

    actor: str
    via: str  # console | api | cli | engine
    user_id: int | None = None
    address: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: datetime
    user_id: int | None
    actor: str
    via: str
    tenant_id: str | None
    address: str
    action: str
    resource: str
    resource_id: str
    old_value: Any
    new_value: Any
    detail: Any

    def public(self) -> dict[str, Any]:
        """The row as the API shows it."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "user_id": self.user_id,
            "actor": self.actor,
            "via": self.via,
            "tenant_id": self.tenant_id,
            "address": self.address,
            "action": self.action,
            "resource": self.resource,
            "resource_id": self.resource_id,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "detail": self.detail,
        }


_COLUMNS = (
    "id, at, user_id, actor, via, tenant_id, address, action, resource, resource_id, "
    "old_value, new_value, detail"
)


async def append(
    db: Executor,
    who: Actor,
    *,
    action: str,
    resource: str,
    resource_id: str = "",
    tenant_id: str | None = None,
    old: Any = None,
    new: Any = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Add one row; returns its id."""
    row = await db.fetchrow(
        "INSERT INTO audit_log (user_id, actor, via, tenant_id, address, action, resource, "
        "resource_id, old_value, new_value, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        who.user_id,
        who.actor,
        who.via,
        tenant_id,
        who.address,
        action,
        resource,
        resource_id,
        jsonable(old),
        jsonable(new),
        jsonable(detail or {}),
    )
    return int(row["id"])


async def list_entries(
    db: Executor,
    tenants: tuple[str, ...] | None,
    *,
    resource: str | None = None,
    resource_id: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """The newest rows inside ``tenants`` (None: all), optionally of one resource, older
    than ``before_id`` (for the next page)."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM audit_log WHERE ($1::text[] IS NULL OR tenant_id = ANY($1)) "
        "AND ($2::text IS NULL OR resource = $2) AND ($3::text IS NULL OR resource_id = $3) "
        "AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
        list(tenants) if tenants is not None else None,
        resource,
        resource_id,
        before_id,
        limit,
    )
    return [AuditEntry(**dict(r)) for r in rows]
