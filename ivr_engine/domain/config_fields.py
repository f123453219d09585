"""Field by field parsing and serialising of the configuration format: the building blocks
``config_doc`` (tenants, numbers, settings layers), ``menu_doc`` and ``queue_doc`` share.

Parsers take the YAML/JSON value and the path inside the document, and raise ``Invalid`` with
that path; serialisers give JSON-ready data back (``parse(serialise(x)) == x``).
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Any

from ivr_engine.domain.calendar import supported_countries
from ivr_engine.domain.model import (
    BlockPeriod,
    ForwardTarget,
    Holiday,
    Interval,
    Prompt,
    PromptKind,
    Schedule,
    WeeklyIntervals,
)
from ivr_engine.domain.numbers import NumberKind, parse_number
from ivr_engine.domain.schedule import (
    DAY_NAMES,
    format_days,
    format_interval,
    parse_days,
    parse_interval,
)
from ivr_engine.errors import ValidationError

_COLORING = {
    "open": PromptKind.COLORING_OPEN,
    "lunch": PromptKind.COLORING_LUNCH,
    "closed": PromptKind.COLORING_CLOSED,
    "holiday": PromptKind.COLORING_HOLIDAY,
}
_KIND_ORDER = {kind: i for i, kind in enumerate(PromptKind)}


class Invalid(Exception):
    """A problem at a path inside the data (turned into ValidationError at the edge)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _at(path: str, key: str) -> str:
    """The path of a key inside a mapping at ``path``."""
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A value as quoted in error messages."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _expect_mapping(value: object, path: str) -> dict[str, Any]:
    """The value as a mapping with text keys."""
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a mapping, got {type(value).__name__}")
    return value


def _expect_list(value: object, path: str) -> list[Any]:
    """The value as a list."""
    if not isinstance(value, list | tuple):
        raise Invalid(path, f"expected a list, got {type(value).__name__}")
    return list(value)


def _expect_str(value: object, path: str) -> str:
    """The value as text."""
    if not isinstance(value, str):
        raise Invalid(path, f"expected text, got {_show(value)}")
    return value


def _expect_keys(mapping: dict[str, Any], known: tuple[str, ...], path: str) -> None:
    """Refuse keys that the format does not know, listing the ones it does."""
    for key in mapping:
        if key not in known:
            raise Invalid(
                _at(path, str(key)), f"unknown key {str(key)!r} (known keys: {', '.join(known)})"
            )


def _bool(value: object, path: str) -> bool:
    """A true/false value."""
    if not isinstance(value, bool):
        raise Invalid(path, f"expected true or false, got {_show(value)}")
    return value


def _int(value: object, path: str, low: int, high: int) -> int:
    """A whole number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(path, f"expected a whole number from {low} to {high}, got {_show(value)}")
    return value


def _enum(value: object, enum: type[StrEnum], path: str) -> Any:
    """One of an enumeration's values."""
    allowed = [e.value for e in enum]
    if value not in allowed:
        raise Invalid(path, f"{_show(value)} is not one of {', '.join(allowed)}")
    return enum(value)


def _phone(value: object, path: str) -> str:
    """A phone number (not anonymous), normalised."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise Invalid(
            path,
            f"{value!r}: write phone numbers as quoted text (YAML reads "
            "unquoted digits as a number and drops the leading 0)",
        )
    try:
        parsed = parse_number(_expect_str(value, path))
    except ValidationError as exc:
        raise Invalid(path, str(exc)) from None
    if parsed.kind is NumberKind.ANONYMOUS:
        raise Invalid(
            path,
            f"{_show(value)} is not a phone number "
            "(anonymous callers are handled by block_anonymous)",
        )
    return parsed.digits


def _prompt(value: object, path: str) -> Prompt:
    """``{text: ...}`` or ``{audio: ...}``; a plain string is a text."""
    if isinstance(value, str):
        value = {"text": value}
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ("text", "audio"), path)
    if len(mapping) != 1:
        raise Invalid(path, "a prompt needs exactly one of text or audio")
    key, content = next(iter(mapping.items()))
    content = _expect_str(content, _at(path, key))
    if not content.strip():
        raise Invalid(_at(path, key), "must not be empty")
    return Prompt(text=content) if key == "text" else Prompt(audio=content)


def _prompt_data(prompt: Prompt) -> dict[str, str]:
    """A prompt as data."""
    return {"text": prompt.text} if prompt.text is not None else {"audio": prompt.audio or ""}


def _prompts(mapping: dict[str, Any], path: str) -> tuple[tuple[PromptKind, Prompt], ...] | None:
    """The ``prompts``, ``coloring`` and ``whisper`` keys as one per-kind tuple."""
    found: dict[PromptKind, tuple[Prompt, str]] = {}

    def add(kind: PromptKind, value: object, where: str) -> None:
        if kind in found:
            raise Invalid(where, f"the {kind.value} prompt is also set at {found[kind][1]}")
        found[kind] = (_prompt(value, where), where)

    if mapping.get("prompts") is not None:
        where = _at(path, "prompts")
        for key, value in _expect_mapping(mapping["prompts"], where).items():
            add(_enum(key, PromptKind, _at(where, str(key))), value, _at(where, str(key)))
    if mapping.get("coloring") is not None:
        where = _at(path, "coloring")
        coloring = _expect_mapping(mapping["coloring"], where)
        if set(coloring) & {"text", "audio"}:
            for kind in _COLORING.values():
                add(kind, coloring, where)
        else:
            _expect_keys(coloring, tuple(_COLORING), where)
            for key, value in coloring.items():
                add(_COLORING[key], value, _at(where, key))
    if mapping.get("whisper") is not None:
        add(PromptKind.WHISPER, mapping["whisper"], _at(path, "whisper"))
    if not found:
        return None
    return tuple(sorted(((k, p) for k, (p, _) in found.items()), key=lambda kp: _KIND_ORDER[kp[0]]))


def _targets(value: object, path: str) -> tuple[ForwardTarget, ...]:
    """Forward targets: ``{number, ring_seconds}`` or a plain number (20 s)."""
    targets = []
    for i, item in enumerate(_expect_list(value, path)):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            targets.append(ForwardTarget(_phone(item, where)))
            continue
        _expect_keys(item, ("number", "ring_seconds"), where)
        if "number" not in item:
            raise Invalid(where, "missing key 'number'")
        ring = _int(item.get("ring_seconds", 20), _at(where, "ring_seconds"), 1, 600)
        targets.append(ForwardTarget(_phone(item["number"], _at(where, "number")), ring))
    return tuple(targets)


def _clock(value: object, path: str) -> str:
    """A time of day as HH:MM text (YAML may give an unquoted 11:00 as the integer 660)."""
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1440:
        return f"{value // 60:02d}:{value % 60:02d}"
    return str(value)


def _interval(value: object, path: str) -> Interval:
    """``"HH:MM-HH:MM"`` or ``{start: HH:MM, end: HH:MM}``."""
    if isinstance(value, dict):
        _expect_keys(value, ("start", "end"), path)
        text = f"{_clock(value.get('start'), path)}-{_clock(value.get('end'), path)}"
    else:
        text = _expect_str(value, path)
    try:
        return parse_interval(text)
    except ValueError:
        raise Invalid(path, f"{_show(text)} is not a time interval HH:MM-HH:MM") from None


def _days(value: object, path: str) -> frozenset[int]:
    """Weekdays from ``wed``, ``mon-fri``, ``[sat, sun]``, ``daily`` ..."""
    items = value if isinstance(value, list) else [value]
    days: set[int] = set()
    for item in items:
        try:
            days |= parse_days(_expect_str(item, path))
        except ValueError as exc:
            raise Invalid(path, str(exc)) from None
    if not days:
        raise Invalid(path, "names no day")
    return frozenset(days)


def _weekly(value: object, path: str) -> WeeklyIntervals:
    """``{mon-fri: ["11:00-15:00", ...], sat: [...]}`` as per-weekday intervals."""
    per_day: dict[int, list[Interval]] = {}
    for key, spec in _expect_mapping(value, path).items():
        where = _at(path, str(key))
        days = _days(str(key), where)
        items = spec if isinstance(spec, list) else [spec]
        intervals = [_interval(item, f"{where}[{i}]") for i, item in enumerate(items)]
        for day in days:
            per_day.setdefault(day, []).extend(intervals)
    return tuple(
        (day, tuple(sorted(set(ivs), key=lambda iv: (iv.start, iv.end))))
        for day, ivs in sorted(per_day.items())
        if ivs
    )


def _weekly_data(weekly: WeeklyIntervals) -> dict[str, list[str]]:
    """Per-weekday intervals as data, with days that share intervals grouped."""
    groups: dict[tuple[Interval, ...], set[int]] = {}
    for day, intervals in weekly:
        groups.setdefault(intervals, set()).add(day)
    return {
        format_days(frozenset(days)): [format_interval(iv) for iv in ivs]
        for ivs, days in sorted(groups.items(), key=lambda g: min(g[1]))
    }


def _block_period(value: object, path: str) -> BlockPeriod:
    """``{name, days, time, prompt}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ("name", "days", "time", "prompt"), path)
    for key in ("name", "days", "time"):
        if key not in mapping:
            raise Invalid(path, f"missing key {key!r}")
    prompt = mapping.get("prompt")
    return BlockPeriod(
        name=_expect_str(mapping["name"], _at(path, "name")),
        days=_days(mapping["days"], _at(path, "days")),
        interval=_interval(mapping["time"], _at(path, "time")),
        prompt=None if prompt is None else _prompt(prompt, _at(path, "prompt")),
    )


def _schedule(value: object, path: str) -> Schedule:
    """``{open: ..., lunch: ..., block_periods: [...]}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ("open", "lunch", "block_periods"), path)
    periods = _expect_list(mapping.get("block_periods") or [], _at(path, "block_periods"))
    return Schedule(
        open=_weekly(mapping.get("open") or {}, _at(path, "open")),
        lunch=_weekly(mapping.get("lunch") or {}, _at(path, "lunch")),
        block_periods=tuple(
            _block_period(p, f"{_at(path, 'block_periods')}[{i}]") for i, p in enumerate(periods)
        ),
    )


def _schedule_data(schedule: Schedule) -> dict[str, Any]:
    """A schedule as data."""
    out: dict[str, Any] = {"open": _weekly_data(schedule.open)}
    if schedule.lunch:
        out["lunch"] = _weekly_data(schedule.lunch)
    if schedule.block_periods:
        out["block_periods"] = [_block_period_data(bp) for bp in schedule.block_periods]
    return out


def _block_period_data(period: BlockPeriod) -> dict[str, Any]:
    """A block period as data."""
    out: dict[str, Any] = {
        "name": period.name,
        "days": [DAY_NAMES[d] for d in sorted(period.days)],
        "time": format_interval(period.interval),
    }
    if period.prompt is not None:
        out["prompt"] = _prompt_data(period.prompt)
    return out


def _holiday(value: object, path: str) -> Holiday:
    """``{date: 2026-12-31, name: ...}`` or ``{date: 06-15, name: ..., yearly: true}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ("date", "name", "yearly", "prompt"), path)
    for key in ("date", "name"):
        if key not in mapping:
            raise Invalid(path, f"missing key {key!r}")
    raw, where = mapping["date"], _at(path, "date")
    yearly = _bool(mapping.get("yearly", False), _at(path, "yearly"))
    text = raw.isoformat() if isinstance(raw, date) else str(raw)
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 2:
            year, (month, day) = None, numbers
            date(2000, month, day)  # a leap year: 02-29 is a valid yearly date
        elif len(numbers) == 3:
            year, month, day = numbers
            date(year, month, day)
        else:
            raise ValueError(text)
    except ValueError:
        raise Invalid(
            where, f"{_show(text)} is not a date YYYY-MM-DD (or MM-DD with yearly: true)"
        ) from None
    if year is None and not yearly:
        raise Invalid(where, f"{_show(text)} has no year; add yearly: true")
    prompt = mapping.get("prompt")
    return Holiday(
        month=month,
        day=day,
        name=_expect_str(mapping["name"], _at(path, "name")),
        year=None if yearly else year,
        prompt=None if prompt is None else _prompt(prompt, _at(path, "prompt")),
    )


def _holiday_data(holiday: Holiday) -> dict[str, Any]:
    """A holiday as data."""
    when = f"{holiday.month:02d}-{holiday.day:02d}"
    out: dict[str, Any] = {
        "date": when if holiday.yearly else f"{holiday.year:04d}-{when}",
        "name": holiday.name,
    }
    if holiday.yearly:
        out["yearly"] = True
    if holiday.prompt is not None:
        out["prompt"] = _prompt_data(holiday.prompt)
    return out


def _country(value: object, path: str) -> str:
    """An ISO country code with a known national calendar; false or '' switches it off."""
    if value is False or value == "":
        return ""
    code = _expect_str(value, path).strip().upper()
    if code not in supported_countries():
        raise Invalid(
            path,
            f"{_show(value)} is not a country with a known national calendar "
            "(use an ISO code such as KR)",
        )
    return code


def _numbers(value: object, path: str) -> frozenset[str]:
    """A caller list (block list or free pass), normalised."""
    return frozenset(
        _phone(item, f"{path}[{i}]") for i, item in enumerate(_expect_list(value, path))
    )
