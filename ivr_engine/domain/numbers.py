"""Korean phone numbers: one normalisation used everywhere.

``+82 10-9999-0000``, ``82-10-9999-0000``, ``010 9999 0000`` and ``01099990000`` are all the
national digits ``01099990000``. Korean numbers are kept as national digits (leading ``0``,
or ``15xx``-style representative numbers); a foreign number (``+`` and a country code other
than 82) is kept in E.164 form with its ``+``. Anonymous / withheld callers have no digits.

Lengths follow the Korean numbering plan:

==============  =====================  ==============================
kind            prefix                 national digits
==============  =====================  ==============================
MOBILE          010 / 011, 016-019     11 (010), 10 or 11 (legacy)
VIRTUAL         050x                   11 (0505-123-4567) or 12
INTERNET        070                    10 or 11
SEOUL           02                     9 or 10
AREA            031 ... 064            10 or 11
REPRESENTATIVE  15xx / 16xx / 18xx     8
FREEPHONE       080                    10 or 11
OTHER           anything else          3 to 15 (short codes, 060, foreign numbers)
==============  =====================  ==============================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache

import phonenumbers

from ivr_engine.errors import ValidationError


class NumberKind(StrEnum):
    """What kind of number a caller or a target is."""

    MOBILE = "mobile"
    VIRTUAL = "virtual"
    INTERNET = "internet"
    SEOUL = "seoul"
    AREA = "area"
    REPRESENTATIVE = "representative"
    FREEPHONE = "freephone"
    ANONYMOUS = "anonymous"
    OTHER = "other"


# Spellings of a withheld caller ID seen from carriers, SIP and Asterisk.
ANONYMOUS_SPELLINGS = frozenset(
    {
        "",
        "anonymous",
        "unknown",
        "restricted",
        "private",
        "withheld",
        "unavailable",
        "blocked",
        "hidden",
        "none",
        "null",
        "p",
        "o",
        "anonymous caller",
        "private number",
        "unknown caller",
        "caller withheld",
        "number withheld",
        "not available",
        "n/a",
        "익명",
        "발신번호표시제한",
        "발신자표시제한",
        "발신번호 표시제한",
    }
)
_STRIP_FOR_ANONYMOUS = " \t<>\"'()[]"
_ALLOWED = re.compile(r"^\+?[0-9 .\-()/]+$")
_AREA_CODES = frozenset(
    {
        "031",
        "032",
        "033",
        "041",
        "042",
        "043",
        "044",
        "051",
        "052",
        "053",
        "054",
        "055",
        "061",
        "062",
        "063",
        "064",
    }
)
_LEGACY_MOBILE = frozenset({"011", "016", "017", "018", "019"})
_REPRESENTATIVE = frozenset({"15", "16", "18"})


@dataclass(frozen=True)
class PhoneNumber:
    """A parsed number: its normalised ``digits`` ('' when anonymous), its kind and the
    text it was parsed from."""

    digits: str
    kind: NumberKind
    raw: str

    @property
    def anonymous(self) -> bool:
        """True for a withheld caller ID."""
        return self.kind is NumberKind.ANONYMOUS

    @cached_property
    def formatted(self) -> str:
        """The number with dashes, e.g. ``010-1234-5678``; ``anonymous`` when withheld."""
        return _format(self.digits, self.kind)

    @cached_property
    def masked(self) -> str:
        """The number as shown in logs and traces, e.g. ``010-99**-00**``."""
        if self.kind is NumberKind.ANONYMOUS:
            return "anonymous"
        return _mask_groups(self.formatted)


def _classify(digits: str) -> NumberKind:
    """The kind of a national number, or raise ValueError naming the length problem."""
    if digits.startswith("050"):
        return _expect(digits, NumberKind.VIRTUAL, (11, 12), "050x")
    if digits.startswith("010"):
        return _expect(digits, NumberKind.MOBILE, (11,), "010")
    if digits[:3] in _LEGACY_MOBILE:
        return _expect(digits, NumberKind.MOBILE, (10, 11), digits[:3])
    if digits.startswith("070"):
        return _expect(digits, NumberKind.INTERNET, (10, 11), "070")
    if digits.startswith("080"):
        return _expect(digits, NumberKind.FREEPHONE, (10, 11), "080")
    if digits.startswith("02"):
        return _expect(digits, NumberKind.SEOUL, (9, 10), "02")
    if digits[:3] in _AREA_CODES:
        return _expect(digits, NumberKind.AREA, (10, 11), digits[:3])
    if digits[:2] in _REPRESENTATIVE and len(digits) == 8:
        return NumberKind.REPRESENTATIVE
    if not 3 <= len(digits) <= 15:
        raise ValueError(f"{len(digits)} digits is not a phone number length")
    return NumberKind.OTHER


def _expect(digits: str, kind: NumberKind, lengths: tuple[int, ...], prefix: str) -> NumberKind:
    """Return ``kind`` when the length fits, else raise ValueError."""
    if len(digits) in lengths:
        return kind
    wanted = " or ".join(str(n) for n in lengths)
    raise ValueError(f"a {prefix} number has {wanted} digits, not {len(digits)}")


def _foreign(raw: str) -> PhoneNumber:
    """A number written with + and a country code other than Korea's."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not an international number ({exc})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a possible international number")
    if parsed.country_code == 82:  # pragma: no cover - handled before
        raise ValueError("unexpected Korean number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return PhoneNumber(e164, NumberKind.OTHER, raw)


def _national_digits(text: str) -> str:
    """Strip separators and a +82 / 0082 / 82 country prefix; return national digits."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+82") or digits.startswith("0082"):
        digits = digits[2:] if text.startswith("+") else digits[4:]
    elif digits.startswith("82") and not text.startswith("+"):
        digits = digits[2:]
    else:
        return digits
    digits = digits.lstrip("0")
    return digits if digits[:2] in _REPRESENTATIVE and len(digits) == 8 else "0" + digits


@lru_cache(maxsize=65536)
def _parse(raw: str) -> PhoneNumber:
    """Cached parse; raises ValueError with the reason on malformed input."""
    if not isinstance(raw, str):
        raise ValueError("expected text")
    text = raw.strip()
    if text.strip(_STRIP_FOR_ANONYMOUS).lower() in ANONYMOUS_SPELLINGS:
        return PhoneNumber("", NumberKind.ANONYMOUS, raw)
    if any(ch.isalpha() for ch in text):
        raise ValueError("contains letters")
    if not _ALLOWED.match(text):
        raise ValueError("may contain only digits, spaces, dashes, dots, brackets and a leading +")
    if text.startswith("+") and not text.startswith("+82"):
        return _foreign(text)
    digits = _national_digits(text)
    if not digits:
        raise ValueError("has no digits")
    return PhoneNumber(digits, _classify(digits), raw)


def parse_number(raw: str) -> PhoneNumber:
    """Parse any written form of a Korean number (or a withheld caller ID).

    Raises ValidationError saying what is wrong for letters, a wrong length or no digits.
    """
    if not isinstance(raw, str):
        raise ValidationError(f"{raw!r} is not a phone number (expected text)")
    try:
        return _parse(raw)
    except ValueError as exc:
        raise ValidationError(f"{raw.strip()!r} is not a phone number: {exc}") from None


def normalize(raw: str) -> str:
    """The normalised digits of a number ('' when anonymous); raises ValidationError."""
    return parse_number(raw).digits


def try_normalize(raw: str) -> str | None:
    """Like ``normalize`` but returns None for malformed input instead of raising."""
    try:
        return _parse(raw).digits
    except (ValueError, TypeError):
        return None


def _split(digits: str, kind: NumberKind) -> tuple[str, ...]:
    """The dash groups of a national number."""
    n = len(digits)
    if kind is NumberKind.REPRESENTATIVE:
        return digits[:4], digits[4:]
    if kind is NumberKind.VIRTUAL:
        return digits[:4], digits[4 : n - 4], digits[n - 4 :]
    head = 2 if kind is NumberKind.SEOUL else 3
    if kind is NumberKind.OTHER or n - head < 7:
        return (digits,)
    return digits[:head], digits[head : n - 4], digits[n - 4 :]


def _format(digits: str, kind: NumberKind) -> str:
    """Digits with dashes (foreign numbers in international format)."""
    if kind is NumberKind.ANONYMOUS:
        return "anonymous"
    if digits.startswith("+"):
        parsed = phonenumbers.parse(digits, None)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return "-".join(_split(digits, kind))


def _mask_groups(formatted: str) -> str:
    """Mask the last half of every group after the first: ``010-99**-00**``."""
    groups = re.split(r"([ \-])", formatted)
    if len(groups) == 1:
        return _mask_wholesale(formatted)
    out = [groups[0]]
    for part in groups[1:]:
        if part in (" ", "-") or not part.isdigit():
            out.append(part)
            continue
        keep = len(part) - len(part) // 2
        out.append(part[:keep] + "*" * (len(part) - keep))
    return "".join(out)


def _mask_wholesale(text: str) -> str:
    """Keep the first three characters and hide the rest."""
    return text[:3] + "*" * max(0, len(text) - 3)


@lru_cache(maxsize=65536)
def mask(number: str) -> str:
    """A number as it may be shown or logged: ``010-99**-00**``, ``0505-12*-45**``.

    Works on raw or normalised input; anything unparseable is hidden except its first three
    characters, so a malformed caller ID never leaks into logs whole. Kept per number: a
    call's trace masks its caller and targets several times.
    """
    try:
        return _parse(number).masked
    except (ValueError, TypeError):
        return _mask_wholesale(str(number))


def format_number(digits: str) -> str:
    """A number with dashes (``010-1234-5678``); unparseable input is returned unchanged."""
    try:
        return _parse(digits).formatted
    except (ValueError, TypeError):
        return digits
