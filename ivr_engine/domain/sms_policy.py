"""The callback SMS policy (콜백문자): which calls get a text, what it says, and when.

One ``SmsPolicy`` per layer (tenant defaults, number): every field is optional (None = not
set at this layer) and ``merge_policies`` lets the number's value win field by field;
templates merge per trigger. ``effective`` fills what neither layer set with the defaults.

The configuration key ``callback_sms`` (tenant or number level)::

    callback_sms:
      enabled: true
      business: 강남피자           # the name texts use; default: the tenant's name
      triggers: [missed]           # answered, missed (= no_answer, busy, abandoned, closed),
                                   # no_answer, busy, abandoned, closed, outbound
      min_duration: 3              # seconds of call (ringing included) before a text is due
      delay: 60                    # seconds after hangup
      approval: auto               # auto | manual (a person approves or discards each)
      templates:                   # per trigger; "missed" covers the four missed kinds
        missed: "{business}입니다. 부재중 전화 주셔서 감사합니다."
        answered: {text: "...", subject: "...", image: menu.jpg}
      advertising: false           # true: framed (광고)...무료거부 080-..., never 21:00-08:00
      optout_number: 080-123-4567  # required with advertising
      night: hold                  # advertising at night: hold until 08:00, or drop
      window: "09:00-20:00"        # send window (tenant zone); outside_window: hold | drop
      outside_window: hold
      daily_cap: 500               # texts per number per day (carrier plan: 150/200/500)
      caller_daily_cap: 1          # texts per caller per number per day
      dedupe_days: 7               # the same caller is not texted again within N days
      max_image_bytes: 1048576     # MMS images: JPEG only, at most this size

Template variables: {business}, {number} (the virtual number), {caller}, {time} (the call's
start, ``MM/DD HH:MM`` in the tenant's zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import time
from enum import StrEnum
from typing import Any

from ivr_engine.domain.numbers import NumberKind, format_number, parse_number
from ivr_engine.domain.sms_text import (
    LMS_MAX_BYTES,
    MMS_MAX_IMAGE_BYTES,
    OPTOUT_PREFIX,
    TextError,
    byte_length,
)
from ivr_engine.errors import ValidationError


class Trigger(StrEnum):
    """Which calls can get a text."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    ABANDONED = "abandoned"
    CLOSED = "closed"
    OUTBOUND = "outbound"  # kept for outbound calls; inbound records never carry it


MISSED = frozenset({Trigger.NO_ANSWER, Trigger.BUSY, Trigger.ABANDONED, Trigger.CLOSED})
TEMPLATE_KEYS = ("answered", "missed", "no_answer", "busy", "abandoned", "closed", "outbound")
VARIABLES = ("business", "number", "caller", "time")
# Longest values a variable can take, for the save-time length check.
_WORST = {
    "business": "가" * 20,
    "number": "0505-1234-5678",
    "caller": "010-1234-5678",
    "time": "12/31 23:59",
}
_VAR = re.compile(r"\{([^{}]*)\}")


class OffHours(StrEnum):
    """What happens to a text that falls outside the allowed hours."""

    HOLD = "hold"  # kept and sent when the hours open
    DROP = "drop"  # not sent; recorded as suppressed with the reason


class Approval(StrEnum):
    """Whether texts go out by themselves or wait for a person."""

    AUTO = "auto"
    MANUAL = "manual"


class PolicyError(ValidationError):
    """A callback SMS policy that cannot be saved; ``path`` says where, ``message`` what."""

    code = "invalid-sms-policy"

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        super().__init__(message, path)


@dataclass(frozen=True)
class TimeWindow:
    """Daily hours [start, end) in the tenant's zone; ``end <= start`` runs past midnight,
    ``start == end`` is the whole day."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        """True when wall time ``t`` is inside the window."""
        if self.start == self.end:
            return True
        if self.end < self.start:
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) and self.start != time(0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> TimeWindow:
    """``HH:MM-HH:MM`` (``24:00`` allowed as an end) as a TimeWindow; ValueError if not."""
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time window HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} is not a time window HH:MM-HH:MM")
    return TimeWindow(time(h1, m1), time(h2 % 24, m2))


@dataclass(frozen=True)
class Template:
    """A message template: text with variables, an optional subject (LMS/MMS) and image."""

    text: str
    subject: str | None = None
    image: str | None = None  # a JPEG file; makes the text an MMS


@dataclass(frozen=True)
class SmsPolicy:
    """One layer of callback SMS settings; None = not set at this layer."""

    enabled: bool | None = None
    business: str | None = None
    triggers: frozenset[Trigger] | None = None
    min_duration: int | None = None
    delay: int | None = None
    approval: Approval | None = None
    templates: tuple[tuple[str, Template], ...] | None = None
    advertising: bool | None = None
    optout_number: str | None = None
    night: OffHours | None = None
    window: TimeWindow | None = None
    outside_window: OffHours | None = None
    daily_cap: int | None = None
    caller_daily_cap: int | None = None
    dedupe_days: int | None = None
    max_image_bytes: int | None = None


@dataclass(frozen=True)
class EffectivePolicy:
    """A resolved policy with every default filled in: what the rules read."""

    enabled: bool = True
    business: str | None = None
    triggers: frozenset[Trigger] = MISSED
    min_duration: int = 0
    delay: int = 0
    approval: Approval = Approval.AUTO
    templates: tuple[tuple[str, Template], ...] = ()
    advertising: bool = False
    optout_number: str | None = None
    night: OffHours = OffHours.HOLD
    window: TimeWindow | None = None
    outside_window: OffHours = OffHours.HOLD
    daily_cap: int = 500
    caller_daily_cap: int = 1
    dedupe_days: int = 0
    max_image_bytes: int = MMS_MAX_IMAGE_BYTES

    def template(self, trigger: Trigger) -> Template | None:
        """The template for a trigger: its own, else ``missed`` for a missed call."""
        found = dict(self.templates)
        if trigger.value in found:
            return found[trigger.value]
        return found.get("missed") if trigger in MISSED else None


def effective(policy: SmsPolicy) -> EffectivePolicy:
    """The policy with defaults for every field no layer set."""
    values = {f.name: getattr(policy, f.name) for f in fields(SmsPolicy)}
    return EffectivePolicy(**{k: v for k, v in values.items() if v is not None})


def merge_policies(base: SmsPolicy | None, own: SmsPolicy | None) -> SmsPolicy | None:
    """The number's policy over the tenant's: each field the number sets wins; templates
    merge per trigger. None when neither layer has a policy."""
    if base is None or own is None:
        return own if base is None else base
    values = {
        f.name: getattr(own, f.name) if getattr(own, f.name) is not None else getattr(base, f.name)
        for f in fields(SmsPolicy)
    }
    if base.templates is not None and own.templates is not None:
        merged = dict(base.templates) | dict(own.templates)
        values["templates"] = tuple((k, merged[k]) for k in TEMPLATE_KEYS if k in merged)
    return SmsPolicy(**values)


# -- parsing -------------------------------------------------------------------------------

KEYS = tuple(f.name for f in fields(SmsPolicy))


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"expected true or false, got {value!r}", path)
    return value


def _int(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"expected a whole number from {low} to {high}, got {value!r}", path)
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"expected non-empty text, got {value!r}", path)
    try:
        byte_length(value)
    except TextError as exc:
        raise PolicyError(str(exc), path) from None
    return value


def _choice(value: object, enum: type[StrEnum], path: str) -> Any:
    allowed = [e.value for e in enum]
    if value not in allowed:
        raise PolicyError(f"{value!r} is not one of {', '.join(allowed)}", path)
    return enum(value)


def _triggers(value: object, path: str) -> frozenset[Trigger]:
    items = value if isinstance(value, list | tuple) else [value]
    out: set[Trigger] = set()
    for i, item in enumerate(items):
        if item == "missed":
            out |= MISSED
        else:
            out.add(_choice(item, Trigger, f"{path}[{i}]"))
    return frozenset(out)


def _optout(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise PolicyError(f"write the opt-out number as quoted text, got {value!r}", path)
    try:
        parsed = parse_number(value)
    except ValidationError as exc:
        raise PolicyError(str(exc), path) from None
    if parsed.kind is not NumberKind.FREEPHONE:
        raise PolicyError(
            f"{value!r} is not a free 080 number; the opt-out line must be "
            "free for the recipient (무료거부 080-...)",
            path,
        )
    return parsed.digits


def _window(value: object, path: str) -> TimeWindow:
    try:
        return parse_window(str(value))
    except ValueError as exc:
        raise PolicyError(str(exc), path) from None


def _template(value: object, path: str) -> Template:
    data = {"text": value} if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise PolicyError("expected text or a mapping {text, subject, image}", path)
    unknown = sorted(set(data) - {"text", "subject", "image"})
    if unknown:
        raise PolicyError(
            f"unknown key {unknown[0]!r} (known keys: text, subject, image)",
            _at(path, str(unknown[0])),
        )
    if "text" not in data:
        raise PolicyError("missing key 'text'", path)
    text = _text(data["text"], _at(path, "text"))
    for name in _VAR.findall(text):
        if name not in VARIABLES:
            raise PolicyError(
                f"unknown variable {{{name}}} (known: "
                f"{', '.join('{' + v + '}' for v in VARIABLES)})",
                _at(path, "text"),
            )
    subject = data.get("subject")
    image = data.get("image")
    if subject is not None:
        subject = _text(subject, _at(path, "subject"))
    if image is not None:
        image = _text(image, _at(path, "image"))
        if not image.lower().endswith((".jpg", ".jpeg")):
            raise PolicyError(
                f"{image!r}: only JPEG images (.jpg, .jpeg) can be sent", _at(path, "image")
            )
    return Template(text, subject, image)


def _templates(value: object, path: str) -> tuple[tuple[str, Template], ...]:
    if not isinstance(value, dict):
        raise PolicyError("expected a mapping of trigger to template", path)
    out = {}
    for key, item in value.items():
        if key not in TEMPLATE_KEYS:
            raise PolicyError(
                f"{key!r} is not one of {', '.join(TEMPLATE_KEYS)}", _at(path, str(key))
            )
        out[key] = _template(item, _at(path, key))
    return tuple((k, out[k]) for k in TEMPLATE_KEYS if k in out)


_PARSERS: dict[str, Any] = {
    "enabled": _bool,
    "advertising": _bool,
    "business": _text,
    "triggers": _triggers,
    "min_duration": lambda v, p: _int(v, p, 0, 3600),
    "delay": lambda v, p: _int(v, p, 0, 86400),
    "approval": lambda v, p: _choice(v, Approval, p),
    "templates": _templates,
    "optout_number": _optout,
    "night": lambda v, p: _choice(v, OffHours, p),
    "window": _window,
    "outside_window": lambda v, p: _choice(v, OffHours, p),
    "daily_cap": lambda v, p: _int(v, p, 1, 100000),
    "caller_daily_cap": lambda v, p: _int(v, p, 1, 100),
    "dedupe_days": lambda v, p: _int(v, p, 0, 90),
    "max_image_bytes": lambda v, p: _int(v, p, 1024, 10 * 1024 * 1024),
}


def worst_case_size(policy: SmsPolicy | EffectivePolicy, template: Template) -> int:
    """The template's longest rendering in CP949 bytes, advertising frame included."""
    text = _VAR.sub(lambda m: _WORST.get(m.group(1), m.group(0)), template.text)
    size = byte_length(text)
    if policy.advertising:
        business = policy.business or _WORST["business"]
        size += byte_length(f"(광고){business}\n\n{OPTOUT_PREFIX} 080-1234-5678")
    return size


def _check(policy: SmsPolicy, path: str) -> None:
    """Rules that span fields: advertising needs its opt-out number; texts must fit."""
    if policy.advertising and not policy.optout_number:
        raise PolicyError(
            "an advertising text needs optout_number (a free 080 number for "
            "the line 무료거부 080-...); set it next to advertising",
            path,
        )
    for key, template in policy.templates or ():
        size = worst_case_size(policy, template)
        if size > LMS_MAX_BYTES:
            raise PolicyError(
                f"can reach {size} bytes with its variables and frame; a text "
                f"holds at most {LMS_MAX_BYTES} bytes (a Hangul syllable "
                "counts 2)",
                _at(_at(path, "templates"), key),
            )


def parse_policy(data: object, path: str = "callback_sms") -> SmsPolicy:
    """Validate the ``callback_sms`` data of one layer; raises PolicyError naming the path
    and what is wrong (unknown keys, a missing opt-out number, a non-JPEG image, ...)."""
    if data is False:
        return SmsPolicy(enabled=False)
    if not isinstance(data, dict):
        raise PolicyError(f"expected a mapping, got {type(data).__name__}", path)
    for key in data:
        if key not in KEYS:
            raise PolicyError(
                f"unknown key {str(key)!r} (known keys: {', '.join(KEYS)})", _at(path, str(key))
            )
    values = {k: _PARSERS[k](v, _at(path, k)) for k, v in data.items() if v is not None}
    policy = SmsPolicy(**values)
    _check(policy, path)
    return policy


def _template_data(t: Template) -> str | dict[str, str]:
    if t.subject is None and t.image is None:
        return t.text
    out = {"text": t.text}
    if t.subject is not None:
        out["subject"] = t.subject
    if t.image is not None:
        out["image"] = t.image
    return out


def policy_to_data(policy: SmsPolicy) -> dict[str, Any]:
    """The inverse of ``parse_policy``: JSON-serialisable data (only the fields set)."""
    out: dict[str, Any] = {}
    for f in fields(SmsPolicy):
        value = getattr(policy, f.name)
        if value is None:
            continue
        if f.name == "triggers":
            value = [t.value for t in Trigger if t in value]
        elif f.name == "templates":
            value = {k: _template_data(t) for k, t in value}
        elif f.name == "window":
            value = str(value)
        elif f.name == "optout_number":
            value = format_number(value)
        elif isinstance(value, StrEnum):
            value = value.value
        out[f.name] = value
    return out
