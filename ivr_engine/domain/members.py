"""Members, outbound caller IDs and outbound rules of a tenant: the model and its format.

A tenant's document may carry three keys beside its numbers::

    caller_ids:                   # numbers the tenant may show when calling out (발신번호)
      - {number: 0505-123-4567, verified: true, evidence: "050 가입증명서 2026-01-05"}
    members:                      # people who call out as the company
      - {name: 김민수, mobile: 010-7777-8888, role: manager, caller_ids: [0505-123-4567]}
    outbound:                     # the tenant's rules for outbound calls
      hours: {mon-fri: ["09:00-18:00"]}   # when members may call out (none: any time)
      blocked_destinations: ["0311234"]   # prefixes refused besides premium-rate ones
      emergency: own_number               # or refuse: 112/119... are never masked
      rounding: per_minute                # per_10_seconds | per_second
      reset: carry_over                   # or monthly: allowances lapse each month
      max_call_minutes: 60                # the longest single call
      ring_seconds: 30                    # how long each leg rings
      access_number: 0505-123-9999        # members call it to call out (one of its numbers)
      reverse_masking_hours: 72           # a customer calling the shown number back
                                          # reaches the member this long (0: off)

Only verified caller IDs may be shown (Korea's 발신번호 사전등록); a member without a
``caller_ids`` list may use every caller ID of the tenant. ``None`` on ``TenantConfig`` means
"not in this document": a load leaves what the database has (``ivr-engine member add``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ivr_engine.domain.config_fields import (
    Invalid,
    _at,
    _bool,
    _enum,
    _expect_keys,
    _expect_list,
    _expect_mapping,
    _expect_str,
    _int,
    _phone,
    _weekly,
    _weekly_data,
)
from ivr_engine.domain.model import WeeklyIntervals
from ivr_engine.domain.numbers import format_number


class Role(StrEnum):
    """What a member may do: call out; a manager also hands out minutes."""

    MEMBER = "member"
    MANAGER = "manager"


class EmergencyPolicy(StrEnum):
    """What an outbound call to an emergency number does: it is never masked."""

    OWN_NUMBER = "own_number"  # dialled showing the member's own mobile
    REFUSE = "refuse"  # refused with a message to dial it from the phone itself


class Rounding(StrEnum):
    """How talk time is charged: per started minute, per started 10 s, per second."""

    PER_MINUTE = "per_minute"
    PER_10_SECONDS = "per_10_seconds"
    PER_SECOND = "per_second"

    @property
    def unit(self) -> int:
        """The charging unit in seconds."""
        return {"per_minute": 60, "per_10_seconds": 10, "per_second": 1}[self.value]


class Reset(StrEnum):
    """What happens to unused minutes at the start of a month (tenant zone)."""

    CARRY_OVER = "carry_over"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class CallerId:
    """A number the tenant may show when calling out, and whether it proved owning it."""

    number: str
    verified: bool = False
    evidence: str = ""


@dataclass(frozen=True)
class Member:
    """Someone who calls out as the company; ``caller_ids`` None = any of the tenant's."""

    name: str
    mobile: str
    role: Role = Role.MEMBER
    caller_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OutboundRules:
    """A tenant's rules for outbound calls (defaults when the document has none)."""

    hours: WeeklyIntervals | None = None  # None: members may call out at any time
    blocked_destinations: tuple[str, ...] = ()  # digit prefixes, besides premium-rate ones
    emergency: EmergencyPolicy = EmergencyPolicy.OWN_NUMBER
    rounding: Rounding = Rounding.PER_MINUTE
    reset: Reset = Reset.CARRY_OVER
    max_call_minutes: int = 60
    ring_seconds: int = 30
    access_number: str | None = None  # the tenant's 050 number members call to call out
    reverse_masking_hours: int = 72  # how long a call-back reaches the member (0: never)


MEMBER_KEYS = ("name", "mobile", "role", "caller_ids")
CALLER_ID_KEYS = ("number", "verified", "evidence")
OUTBOUND_KEYS = (
    "hours",
    "blocked_destinations",
    "emergency",
    "rounding",
    "reset",
    "max_call_minutes",
    "ring_seconds",
    "access_number",
    "reverse_masking_hours",
)


def _required(mapping: dict[str, Any], key: str, path: str) -> Any:
    if key not in mapping:
        raise Invalid(path, f"missing key {key!r}")
    return mapping[key]


def parse_caller_ids(value: object, path: str) -> tuple[CallerId, ...]:
    """``caller_ids: [{number, verified, evidence}]`` (a plain number: unverified)."""
    out = []
    for i, item in enumerate(_expect_list(value, path)):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            item = {"number": item}
        _expect_keys(item, CALLER_ID_KEYS, where)
        number = _phone(_required(item, "number", where), _at(where, "number"))
        verified = _bool(item.get("verified", False), _at(where, "verified"))
        evidence = item.get("evidence") or ""
        out.append(CallerId(number, verified, _expect_str(evidence, _at(where, "evidence"))))
    return tuple(out)


def parse_member(value: object, path: str) -> Member:
    """One ``{name, mobile, role, caller_ids}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, MEMBER_KEYS, path)
    name = _expect_str(_required(mapping, "name", path), _at(path, "name")).strip()
    if not name:
        raise Invalid(_at(path, "name"), "must not be empty")
    mobile = _phone(_required(mapping, "mobile", path), _at(path, "mobile"))
    role = _enum(mapping.get("role", "member"), Role, _at(path, "role"))
    ids = mapping.get("caller_ids")
    caller_ids = (
        None
        if ids is None
        else tuple(
            _phone(n, f"{_at(path, 'caller_ids')}[{i}]")
            for i, n in enumerate(_expect_list(ids, _at(path, "caller_ids")))
        )
    )
    return Member(name, mobile, role, caller_ids)


def parse_members(value: object, path: str) -> tuple[Member, ...]:
    """``members: [...]``."""
    return tuple(parse_member(m, f"{path}[{i}]") for i, m in enumerate(_expect_list(value, path)))


def _prefix(value: object, path: str) -> str:
    """A destination prefix: digits only (dashes and spaces allowed)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    digits = "".join(ch for ch in _expect_str(text, path) if ch not in " -")
    if not digits.isdigit():
        raise Invalid(path, f"{value!r} is not a number prefix (digits only)")
    return digits


def parse_outbound(value: object, path: str) -> OutboundRules:
    """``outbound: {hours, blocked_destinations, emergency, rounding, reset, ...}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, OUTBOUND_KEYS, path)
    hours = mapping.get("hours")
    blocked = mapping.get("blocked_destinations") or []
    where = _at(path, "blocked_destinations")
    access = mapping.get("access_number")
    return OutboundRules(
        hours=None if hours is None else _weekly(hours, _at(path, "hours")),
        blocked_destinations=tuple(
            _prefix(p, f"{where}[{i}]") for i, p in enumerate(_expect_list(blocked, where))
        ),
        emergency=_enum(
            mapping.get("emergency", "own_number"), EmergencyPolicy, _at(path, "emergency")
        ),
        rounding=_enum(mapping.get("rounding", "per_minute"), Rounding, _at(path, "rounding")),
        reset=_enum(mapping.get("reset", "carry_over"), Reset, _at(path, "reset")),
        max_call_minutes=_int(
            mapping.get("max_call_minutes", 60), _at(path, "max_call_minutes"), 1, 1440
        ),
        ring_seconds=_int(mapping.get("ring_seconds", 30), _at(path, "ring_seconds"), 5, 300),
        access_number=None if access is None else _phone(access, _at(path, "access_number")),
        reverse_masking_hours=_int(
            mapping.get("reverse_masking_hours", 72), _at(path, "reverse_masking_hours"), 0, 8760
        ),
    )


def caller_ids_data(caller_ids: tuple[CallerId, ...]) -> list[dict[str, Any]]:
    """Caller IDs as data (``parse_caller_ids`` reads it back equal)."""
    out = []
    for c in caller_ids:
        item: dict[str, Any] = {"number": format_number(c.number), "verified": c.verified}
        if c.evidence:
            item["evidence"] = c.evidence
        out.append(item)
    return out


def member_data(member: Member) -> dict[str, Any]:
    """A member as data."""
    item: dict[str, Any] = {
        "name": member.name,
        "mobile": format_number(member.mobile),
        "role": member.role.value,
    }
    if member.caller_ids is not None:
        item["caller_ids"] = [format_number(n) for n in member.caller_ids]
    return item


def outbound_data(rules: OutboundRules) -> dict[str, Any]:
    """Outbound rules as data (every key, so the stored form is explicit)."""
    out: dict[str, Any] = {
        "blocked_destinations": list(rules.blocked_destinations),
        "emergency": rules.emergency.value,
        "rounding": rules.rounding.value,
        "reset": rules.reset.value,
        "max_call_minutes": rules.max_call_minutes,
        "ring_seconds": rules.ring_seconds,
        "reverse_masking_hours": rules.reverse_masking_hours,
    }
    if rules.access_number is not None:
        out["access_number"] = format_number(rules.access_number)
    if rules.hours is not None:
        out["hours"] = _weekly_data(rules.hours)
    return out


def allowed_caller_ids(member: Member, caller_ids: tuple[CallerId, ...]) -> tuple[str, ...]:
    """The caller IDs a member may show, in the member's order (else the tenant's)."""
    if member.caller_ids is not None:
        return member.caller_ids
    return tuple(c.number for c in caller_ids)
