"""The declarative configuration format (what ``ivr-engine load`` reads) and its resolution.

The caller reads YAML with ``yaml.safe_load`` (or JSON) and passes the data here;
``parse_document`` validates it into a ConfigDocument, naming the file, the path inside it
and what is wrong on the first error. ``document_to_data`` is the exact inverse and gives
JSON-serialisable data: the store keeps each layer of settings in that form.

A tenant carries every number-level key as a default for its numbers. ``resolve`` merges the
two layers into the NumberConfig the planner reads: the number's value when set, else the
tenant's, else the built-in default; holidays, block list and free pass add up; prompts
merge per kind (the number's wins).

The format, in short (``deploy/sample-config.yaml`` shows every key)::

    tenants: [{id, name, timezone, <settings>, numbers: [{number, label, <settings>}]}]
    settings: status, targets [{number, ring_seconds}], strategy, caller_id, schedule
      {open: {DAYS: ["HH:MM-HH:MM", ...]}, lunch: {...}, block_periods: [{name, days, time,
      prompt}]}, holidays [{date, name, yearly, prompt}], national_holidays (ISO code, or
      false), prompts {KIND: {text}|{audio}}, coloring {open|lunch|closed|holiday: PROMPT}
      or PROMPT for every state, whisper PROMPT, block_list, free_pass, block_anonymous,
      answer_before_announcement, max_talk_seconds, menus [{id, prompt, items: [{key,
      label, ACTION}], ...}] and menu (the entry menu; ``domain.menu_doc``), queues
      (``domain.queue_doc``)
    DAYS: mon..sun, mon-fri, fri-mon, "sat,sun", daily, weekdays, weekend
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr_engine.domain.calendar import supported_countries
from ivr_engine.domain.model import (
    BlockPeriod,
    CallerIdMode,
    ConfigDocument,
    ForwardTarget,
    Holiday,
    Interval,
    NumberConfig,
    NumberEntry,
    NumberSettings,
    NumberStatus,
    Prompt,
    PromptKind,
    Schedule,
    Strategy,
    TenantConfig,
    WeeklyIntervals,
)
from ivr_engine.domain.numbers import NumberKind, format_number, parse_number
from ivr_engine.domain.schedule import (
    DAY_NAMES,
    format_days,
    format_interval,
    parse_days,
    parse_interval,
)
from ivr_engine.domain.sms_policy import (
    PolicyError,
    SmsPolicy,
    merge_policies,
    parse_policy,
    policy_to_data,
)
from ivr_engine.errors import ValidationError

__all__ = [
    "document_to_data",
    "parse_document",
    "resolve",
    "resolve_all",
    "settings_from_data",
    "settings_to_data",
]

SETTING_KEYS = (
    "status", "targets", "strategy", "caller_id", "schedule", "holidays", "national_holidays",
    "prompts", "coloring", "whisper", "block_list", "free_pass", "block_anonymous",
    "answer_before_announcement", "max_talk_seconds",
    "callback_sms",
    "menus", "menu", "queues",
)
_COLORING = {"open": PromptKind.COLORING_OPEN, "lunch": PromptKind.COLORING_LUNCH,
             "closed": PromptKind.COLORING_CLOSED, "holiday": PromptKind.COLORING_HOLIDAY}
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
            raise Invalid(_at(path, str(key)),
                          f"unknown key {str(key)!r} (known keys: {', '.join(known)})")


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
        raise Invalid(path, f"{value!r}: write phone numbers as quoted text (YAML reads "
                      "unquoted digits as a number and drops the leading 0)")
    try:
        parsed = parse_number(_expect_str(value, path))
    except ValidationError as exc:
        raise Invalid(path, str(exc)) from None
    if parsed.kind is NumberKind.ANONYMOUS:
        raise Invalid(path, f"{_show(value)} is not a phone number "
                      "(anonymous callers are handled by block_anonymous)")
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
    return tuple((day, tuple(sorted(set(ivs), key=lambda iv: (iv.start, iv.end))))
                 for day, ivs in sorted(per_day.items()) if ivs)


def _weekly_data(weekly: WeeklyIntervals) -> dict[str, list[str]]:
    """Per-weekday intervals as data, with days that share intervals grouped."""
    groups: dict[tuple[Interval, ...], set[int]] = {}
    for day, intervals in weekly:
        groups.setdefault(intervals, set()).add(day)
    return {format_days(frozenset(days)): [format_interval(iv) for iv in ivs]
            for ivs, days in sorted(groups.items(), key=lambda g: min(g[1]))}


def _block_period(value: object, path: str) -> BlockPeriod:
    """``{name, days, time, prompt}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ("name", "days", "time", "prompt"), path)
    for key in ("name", "days", "time"):
        if key not in mapping:
            raise Invalid(path, f"missing key {key!r}")
    prompt = mapping.get("prompt")
    return BlockPeriod(name=_expect_str(mapping["name"], _at(path, "name")),
                       days=_days(mapping["days"], _at(path, "days")),
                       interval=_interval(mapping["time"], _at(path, "time")),
                       prompt=None if prompt is None else _prompt(prompt, _at(path, "prompt")))


def _schedule(value: object, path: str) -> Schedule:
    """``{open: ..., lunch: ..., block_periods: [...]}``."""
    mapping = _expect_mapping(value, path)
    _expect_keys(mapping, ("open", "lunch", "block_periods"), path)
    periods = _expect_list(mapping.get("block_periods") or [], _at(path, "block_periods"))
    return Schedule(
        open=_weekly(mapping.get("open") or {}, _at(path, "open")),
        lunch=_weekly(mapping.get("lunch") or {}, _at(path, "lunch")),
        block_periods=tuple(_block_period(p, f"{_at(path, 'block_periods')}[{i}]")
                            for i, p in enumerate(periods)))


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
    out: dict[str, Any] = {"name": period.name,
                           "days": [DAY_NAMES[d] for d in sorted(period.days)],
                           "time": format_interval(period.interval)}
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
        raise Invalid(where, f"{_show(text)} is not a date YYYY-MM-DD (or MM-DD with "
                      "yearly: true)") from None
    if year is None and not yearly:
        raise Invalid(where, f"{_show(text)} has no year; add yearly: true")
    prompt = mapping.get("prompt")
    return Holiday(month=month, day=day, name=_expect_str(mapping["name"], _at(path, "name")),
                   year=None if yearly else year,
                   prompt=None if prompt is None else _prompt(prompt, _at(path, "prompt")))


def _holiday_data(holiday: Holiday) -> dict[str, Any]:
    """A holiday as data."""
    when = f"{holiday.month:02d}-{holiday.day:02d}"
    out: dict[str, Any] = {"date": when if holiday.yearly else f"{holiday.year:04d}-{when}",
                           "name": holiday.name}
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
        raise Invalid(path, f"{_show(value)} is not a country with a known national calendar "
                      "(use an ISO code such as KR)")
    return code


def _numbers(value: object, path: str) -> frozenset[str]:
    """A caller list (block list or free pass), normalised."""
    return frozenset(_phone(item, f"{path}[{i}]")
                     for i, item in enumerate(_expect_list(value, path)))


def _callback_sms(value: object, path: str) -> SmsPolicy:
    """The callback SMS policy of one layer (``domain.sms_policy``)."""
    try:
        return parse_policy(value, path)
    except PolicyError as exc:
        raise Invalid(exc.path, exc.message) from None


def _callback_sms_data(policy: SmsPolicy | None) -> dict[str, Any] | None:
    """A layer's callback SMS policy as data."""
    return None if policy is None else policy_to_data(policy)


def _menus(value: object, path: str) -> Any:
    """IVR menus of one layer (``domain.menu_doc``)."""
    from ivr_engine.domain.menu_doc import parse_menus

    return parse_menus(value, path)


def _menu_id(value: object, path: str) -> str:
    """The entry menu's id."""
    from ivr_engine.domain.menu_doc import parse_menu_id

    return parse_menu_id(value, path)


def _queues(value: object, path: str) -> tuple[Any, ...]:
    """Queue definitions of one layer (``domain.queue_doc``)."""
    try:
        from ivr_engine.domain.queue_doc import parse_queues
    except ImportError:
        raise Invalid(path, "queue definitions are not supported by this version") from None
    try:
        return parse_queues(value, path)
    except ValidationError as exc:
        raise Invalid(exc.path or path, getattr(exc, "message", str(exc))) from None


def _menus_data(settings: NumberSettings) -> dict[str, Any]:
    """The menu and queue keys of one layer as data (only those set)."""
    out: dict[str, Any] = {}
    if settings.menus is not None:
        from ivr_engine.domain.menu_doc import menus_to_data

        out["menus"] = menus_to_data(settings.menus)
    if settings.menu is not None:
        out["menu"] = settings.menu
    if settings.queues is not None:
        from ivr_engine.domain.queue_doc import queues_to_data

        out["queues"] = queues_to_data(settings.queues)
    return out


def _by_id(tenant: tuple[Any, ...] | None, own: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """Menus or queues of both layers merged by id, the number's winning, tenant order
    first."""
    merged = {item.id: item for item in tenant or ()}
    merged.update({item.id: item for item in own or ()})
    return tuple(merged.values())


_FIELDS: dict[str, Any] = {
    "status": lambda v, p: _enum(v, NumberStatus, p),
    "targets": _targets,
    "strategy": lambda v, p: _enum(v, Strategy, p),
    "caller_id": lambda v, p: _enum(v, CallerIdMode, p),
    "schedule": _schedule,
    "holidays": lambda v, p: tuple(_holiday(h, f"{p}[{i}]")
                                   for i, h in enumerate(_expect_list(v, p))),
    "national_holidays": _country,
    "block_list": _numbers,
    "free_pass": _numbers,
    "block_anonymous": _bool,
    "answer_before_announcement": _bool,
    "max_talk_seconds": lambda v, p: _int(v, p, 1, 86400),
    "callback_sms": _callback_sms,
    "menus": _menus,
    "menu": _menu_id,
    "queues": _queues,
}


def _parse_settings(mapping: dict[str, Any], path: str) -> NumberSettings:
    """One layer of settings from a mapping whose keys were already checked."""
    values: dict[str, Any] = {name: parse(mapping[name], _at(path, name))
                              for name, parse in _FIELDS.items()
                              if mapping.get(name) is not None}
    values["prompts"] = _prompts(mapping, path)
    return NumberSettings(**values)


def _settings_data(settings: NumberSettings) -> dict[str, Any]:
    """One layer of settings as JSON-serialisable data."""
    s = settings
    raw: dict[str, Any] = {
        "status": s.status and s.status.value,
        "targets": None if s.targets is None else [
            {"number": format_number(t.number), "ring_seconds": t.ring_seconds} for t in s.targets],
        "strategy": s.strategy and s.strategy.value,
        "caller_id": s.caller_id and s.caller_id.value,
        "schedule": None if s.schedule is None else _schedule_data(s.schedule),
        "holidays": None if s.holidays is None else [_holiday_data(h) for h in s.holidays],
        "national_holidays": s.national_holidays,
        "prompts": None if s.prompts is None else {
            k.value: _prompt_data(p) for k, p in s.prompts},
        "block_list": None if s.block_list is None else sorted(
            format_number(n) for n in s.block_list),
        "free_pass": None if s.free_pass is None else sorted(
            format_number(n) for n in s.free_pass),
        "block_anonymous": s.block_anonymous,
        "answer_before_announcement": s.answer_before_announcement,
        "max_talk_seconds": s.max_talk_seconds,
        "callback_sms": _callback_sms_data(s.callback_sms),
    }
    raw.update(_menus_data(s))
    return {k: v for k, v in raw.items() if v is not None}


TENANT_KEYS = ("id", "name", "timezone", "numbers", *SETTING_KEYS)
NUMBER_KEYS = ("number", "label", *SETTING_KEYS)


def settings_from_data(data: dict[str, Any], path: str = "") -> NumberSettings:
    """One layer of settings from its data form; raises ValidationError naming the path."""
    try:
        _expect_keys(_expect_mapping(data, path), SETTING_KEYS, path)
        return _parse_settings(data, path)
    except Invalid as exc:
        raise ValidationError(exc.message, exc.path) from None


def settings_to_data(settings: NumberSettings) -> dict[str, Any]:
    """One layer of settings as JSON-serialisable data (only the keys that are set)."""
    return _settings_data(settings)


def _entry(data: object, path: str) -> NumberEntry:
    """One number under a tenant."""
    mapping = _expect_mapping(data, path)
    _expect_keys(mapping, NUMBER_KEYS, path)
    if "number" not in mapping:
        raise Invalid(path, "missing key 'number'")
    number = _phone(mapping["number"], _at(path, "number"))
    label = mapping.get("label", "")
    label = "" if label is None else _expect_str(label, _at(path, "label"))
    settings = _parse_settings({k: v for k, v in mapping.items()
                               if k not in ("number", "label")}, path)
    return NumberEntry(number=number, settings=settings, label=label)


def _timezone(value: object, path: str) -> str:
    """A time zone name that the system knows."""
    name = _expect_str(value, path)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(path, f"{name!r} is not a known time zone (e.g. Asia/Seoul)") from None
    return name


def _tenant(data: object, path: str) -> TenantConfig:
    """One tenant with its defaults and numbers."""
    mapping = _expect_mapping(data, path)
    _expect_keys(mapping, TENANT_KEYS, path)
    if "id" not in mapping:
        raise Invalid(path, "missing key 'id'")
    tenant_id = _expect_str(mapping["id"], _at(path, "id"))
    if not tenant_id.strip():
        raise Invalid(_at(path, "id"), "must not be empty")
    name = _expect_str(mapping.get("name", tenant_id), _at(path, "name"))
    timezone = _timezone(mapping.get("timezone", "Asia/Seoul"), _at(path, "timezone"))
    numbers_data = mapping.get("numbers") or []
    numbers = tuple(_entry(item, f"{_at(path, 'numbers')}[{i}]")
                    for i, item in enumerate(_expect_list(numbers_data, _at(path, "numbers"))))
    defaults = _parse_settings({k: v for k, v in mapping.items()
                               if k not in ("id", "name", "timezone", "numbers")}, path)
    return TenantConfig(id=tenant_id, name=name, timezone=timezone, defaults=defaults,
                        numbers=numbers)


def parse_document(data: object, source: str = "<config>") -> ConfigDocument:
    """Validate configuration data (as loaded from YAML) into a ConfigDocument.

    Raises ValidationError on the first problem; its message names ``source``, the path
    inside the data and what is wrong. Unknown keys are errors, listing the known ones.
    """
    try:
        if data is None:
            raise Invalid("", "the document is empty; expected a mapping with 'tenants'")
        mapping = _expect_mapping(data, "")
        _expect_keys(mapping, ("tenants",), "")
        tenants = _expect_list(mapping.get("tenants") or [], "tenants")
        return ConfigDocument(tuple(_tenant(t, f"tenants[{i}]") for i, t in enumerate(tenants)))
    except Invalid as exc:
        where = f"{source}: {exc.path}" if exc.path else source
        raise ValidationError(exc.message, where) from None


def _entry_data(entry: NumberEntry) -> dict[str, Any]:
    """A number entry as data."""
    out: dict[str, Any] = {"number": format_number(entry.number)}
    if entry.label:
        out["label"] = entry.label
    out.update(_settings_data(entry.settings))
    return out


def document_to_data(doc: ConfigDocument) -> dict[str, Any]:
    """The inverse of ``parse_document``: JSON-serialisable data that parses back equal."""
    tenants = []
    for tenant in doc.tenants:
        item: dict[str, Any] = {"id": tenant.id, "name": tenant.name, "timezone": tenant.timezone}
        item.update(_settings_data(tenant.defaults))
        item["numbers"] = [_entry_data(e) for e in tenant.numbers]
        tenants.append(item)
    return {"tenants": tenants}


def _union(first: tuple[Holiday, ...] | None, second: tuple[Holiday, ...] | None
           ) -> tuple[Holiday, ...]:
    """Holidays of both layers, tenant first, without repeats."""
    return tuple(dict.fromkeys((first or ()) + (second or ())))


def _merged_prompts(tenant: NumberSettings, own: NumberSettings
                    ) -> tuple[tuple[PromptKind, Prompt], ...]:
    """Prompts merged per kind, the number's winning, in PromptKind order."""
    merged = dict(tenant.prompts or ())
    merged.update(dict(own.prompts or ()))
    return tuple((kind, merged[kind]) for kind in PromptKind if kind in merged)


def resolve(tenant: TenantConfig, entry: NumberEntry, version: int = 0) -> NumberConfig:
    """One number fully resolved against its tenant's defaults (see the module docstring)."""
    base, own = tenant.defaults, entry.settings
    default = NumberConfig(number=entry.number, tenant_id=tenant.id, tenant_name=tenant.name)

    def pick(name: str) -> Any:
        value = getattr(own, name)
        if value is None:
            value = getattr(base, name)
        return getattr(default, name) if value is None else value

    return NumberConfig(
        number=entry.number, tenant_id=tenant.id, tenant_name=tenant.name,
        timezone=tenant.timezone, status=pick("status"), targets=pick("targets"),
        strategy=pick("strategy"), caller_id=pick("caller_id"), schedule=pick("schedule"),
        holidays=_union(base.holidays, own.holidays),
        national_holidays=pick("national_holidays") or None,
        prompts=_merged_prompts(base, own),
        block_list=(base.block_list or frozenset()) | (own.block_list or frozenset()),
        free_pass=(base.free_pass or frozenset()) | (own.free_pass or frozenset()),
        block_anonymous=pick("block_anonymous"),
        answer_before_announcement=pick("answer_before_announcement"),
        max_talk_seconds=pick("max_talk_seconds"), version=version,
        callback_sms=merge_policies(base.callback_sms, own.callback_sms),
        menus=_by_id(base.menus, own.menus), menu=pick("menu"),
        queues=_by_id(base.queues, own.queues),
    )


def resolve_all(doc: ConfigDocument, version: int = 0) -> dict[str, NumberConfig]:
    """Every number of a document resolved, by normalised number (the last one declared
    wins on a duplicate; ``checks`` reports duplicates)."""
    return {e.number: resolve(t, e, version) for t in doc.tenants for e in t.numbers}
