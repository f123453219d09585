"""Static checks of members and outbound caller IDs (part of ``ivr-engine check``).

Errors: a member's mobile that is not a mobile number, a mobile or caller ID declared twice,
a member's caller ID the tenant never declared, a caller ID that is another tenant's virtual
number, an access number that is not one of the tenant's virtual numbers. Warnings: caller
IDs not verified yet (calls showing them are refused), members who have no verified caller
ID to call out with.
"""

from __future__ import annotations

from ivr_engine.domain.checks import ERROR, WARNING, Finding
from ivr_engine.domain.members import allowed_caller_ids
from ivr_engine.domain.model import ConfigDocument, TenantConfig
from ivr_engine.domain.numbers import NumberKind, format_number, mask, parse_number


def _caller_ids(tenant: TenantConfig, path: str, others: dict[str, str]) -> list[Finding]:
    """Duplicates, other tenants' numbers and unverified entries in ``caller_ids``."""
    found: list[Finding] = []
    seen: set[str] = set()
    for i, c in enumerate(tenant.caller_ids or ()):
        where = f"{path}.caller_ids[{i}]"
        shown = format_number(c.number)
        if c.number in seen:
            found.append(Finding(ERROR, f"{where}.number", f"{shown} is declared twice"))
        seen.add(c.number)
        owner = others.get(c.number)
        if owner is not None and owner != tenant.id:
            found.append(
                Finding(
                    ERROR,
                    f"{where}.number",
                    f"{shown} is a virtual number of tenant {owner}; "
                    "only numbers the tenant owns may be shown",
                )
            )
        if not c.verified:
            found.append(
                Finding(
                    WARNING,
                    f"{where}.verified",
                    f"caller ID {shown} is not verified: outbound calls showing it are refused",
                )
            )
    return found


def _members(tenant: TenantConfig, path: str, mobiles: dict[str, str]) -> list[Finding]:
    """Mobiles that are not mobiles or are used twice; caller IDs a member may not show."""
    found: list[Finding] = []
    declared = {c.number: c for c in tenant.caller_ids or ()}
    for i, member in enumerate(tenant.members or ()):
        where = f"{path}.members[{i}]"
        if parse_number(member.mobile).kind is not NumberKind.MOBILE:
            found.append(
                Finding(
                    ERROR,
                    f"{where}.mobile",
                    f"{mask(member.mobile)} is not a mobile number (010-XXXX-XXXX)",
                )
            )
        if member.mobile in mobiles:
            found.append(
                Finding(
                    ERROR,
                    f"{where}.mobile",
                    f"{mask(member.mobile)} is already a member at {mobiles[member.mobile]}",
                )
            )
        else:
            mobiles[member.mobile] = where
        for k, number in enumerate(member.caller_ids or ()):
            at = f"{where}.caller_ids[{k}]"
            caller_id = declared.get(number)
            if caller_id is None:
                found.append(
                    Finding(
                        ERROR,
                        at,
                        f"caller ID {format_number(number)} is not declared in the "
                        "tenant's caller_ids",
                    )
                )
            elif not caller_id.verified:
                found.append(
                    Finding(
                        WARNING,
                        at,
                        f"caller ID {format_number(number)} is not verified: "
                        f"{member.name}'s calls showing it are refused",
                    )
                )
        usable = [n for n in allowed_caller_ids(member, tenant.caller_ids or ()) if n in declared]
        if not any(declared[n].verified for n in usable):
            found.append(
                Finding(
                    WARNING,
                    where,
                    f"member {member.name} has no verified caller ID and cannot call out",
                )
            )
    return found


def _access(tenant: TenantConfig, path: str) -> list[Finding]:
    """The access number must be one of the tenant's own virtual numbers."""
    access = tenant.outbound.access_number if tenant.outbound is not None else None
    if access is None or any(e.number == access for e in tenant.numbers):
        return []
    return [
        Finding(
            ERROR,
            f"{path}.outbound.access_number",
            f"{format_number(access)} is not one of the tenant's virtual numbers: members "
            "reach the access number by calling it",
        )
    ]


def check_members(doc: ConfigDocument) -> list[Finding]:
    """Every finding about members and caller IDs, in document order."""
    owners = {e.number: t.id for t in doc.tenants for e in t.numbers}
    mobiles: dict[str, str] = {}
    found: list[Finding] = []
    for ti, tenant in enumerate(doc.tenants):
        path = f"tenants[{ti}]"
        found += _caller_ids(tenant, path, owners) + _members(tenant, path, mobiles)
        found += _access(tenant, path)
    return found
