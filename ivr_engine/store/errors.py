"""asyncpg errors mapped to domain errors by constraint name."""

from __future__ import annotations

import asyncpg

from ivr_engine.errors import (
    ConflictError,
    IvrError,
    NotFoundError,
    NumberQuarantined,
    ValidationError,
)

# Constraint name -> (error class, message). ``{detail}`` is the server's message.
_CONSTRAINTS: dict[str, tuple[type[IvrError], str]] = {
    "virtual_numbers_quarantine": (NumberQuarantined, "{detail}"),
    "virtual_numbers_pkey": (ConflictError, "the virtual number already exists"),
    "tenants_pkey": (ConflictError, "the tenant already exists"),
    "virtual_numbers_tenant_fk": (NotFoundError, "the tenant does not exist"),
    "virtual_numbers_number_digits": (ValidationError, "a virtual number has 8 to 12 digits"),
    "virtual_numbers_status_check": (ValidationError, "unknown number status"),
    "forward_targets_ring_seconds_check": (ValidationError, "ring time must be 1 to 600 seconds"),
    "caller_list_entries_number_uniq": (ConflictError, "the caller is already on that list"),
    "caller_list_entries_tenant_uniq": (ConflictError, "the caller is already on that list"),
    "members_pkey": (ConflictError, "the mobile is already a member (of this or another tenant)"),
    "caller_ids_pkey": (ConflictError, "the caller ID is already registered by a tenant"),
    "members_mobile_digits": (ValidationError, "a member's mobile is an 010 number"),
    "members_tenant_fk": (NotFoundError, "the tenant does not exist"),
}


def map_db_error(exc: asyncpg.PostgresError, context: str = "") -> IvrError | None:
    """The domain error for a constraint violation, or None when the constraint is unknown.

    ``context`` (e.g. ``"sample.yaml: number 0505-123-4567"``) prefixes the message.
    """
    name = getattr(exc, "constraint_name", None)
    if not isinstance(exc, asyncpg.IntegrityConstraintViolationError) or not name:
        return None
    cls, template = _CONSTRAINTS.get(name, (ConflictError, f"violates {name}: {{detail}}"))
    message = template.format(detail=getattr(exc, "message", str(exc)))
    return cls(f"{context}: {message}" if context else message)
