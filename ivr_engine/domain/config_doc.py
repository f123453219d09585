"""The declarative configuration format (what ``ivr-engine load`` reads) and its resolution.

The caller reads YAML with ``ivr_engine.config_yaml.load_yaml`` (or JSON) and passes the data here;
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

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr_engine.domain.config_fields import (
    Invalid,
    _at,
    _bool,
    _country,
    _enum,
    _expect_keys,
    _expect_list,
    _expect_mapping,
    _expect_str,
    _holiday,
    _holiday_data,
    _int,
    _numbers,
    _phone,
    _prompt_data,
    _prompts,
    _schedule,
    _schedule_data,
    _targets,
)
from ivr_engine.domain.members import (
    caller_ids_data,
    member_data,
    outbound_data,
    parse_caller_ids,
    parse_members,
    parse_outbound,
)
from ivr_engine.domain.menu_doc import menus_to_data, parse_menu_id, parse_menus
from ivr_engine.domain.model import (
    CallerIdMode,
    ConfigDocument,
    Holiday,
    NumberConfig,
    NumberEntry,
    NumberSettings,
    NumberStatus,
    Prompt,
    PromptKind,
    Strategy,
    TenantConfig,
)
from ivr_engine.domain.numbers import format_number
from ivr_engine.domain.queue_doc import parse_queues, queues_to_data
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
    "status",
    "targets",
    "strategy",
    "caller_id",
    "schedule",
    "holidays",
    "national_holidays",
    "prompts",
    "coloring",
    "whisper",
    "block_list",
    "free_pass",
    "block_anonymous",
    "answer_before_announcement",
    "max_talk_seconds",
    "callback_sms",
    "menus",
    "menu",
    "queues",
)


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
    return parse_menus(value, path)


def _menu_id(value: object, path: str) -> str:
    """The entry menu's id."""
    return parse_menu_id(value, path)


def _queues(value: object, path: str) -> tuple[Any, ...]:
    """Queue definitions of one layer (``domain.queue_doc``)."""
    try:
        return parse_queues(value, path)
    except ValidationError as exc:
        raise Invalid(exc.path or path, getattr(exc, "message", str(exc))) from None


def _menus_data(settings: NumberSettings) -> dict[str, Any]:
    """The menu and queue keys of one layer as data (only those set)."""
    out: dict[str, Any] = {}
    if settings.menus is not None:
        out["menus"] = menus_to_data(settings.menus)
    if settings.menu is not None:
        out["menu"] = settings.menu
    if settings.queues is not None:
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
    "holidays": lambda v, p: tuple(
        _holiday(h, f"{p}[{i}]") for i, h in enumerate(_expect_list(v, p))
    ),
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
    values: dict[str, Any] = {
        name: parse(mapping[name], _at(path, name))
        for name, parse in _FIELDS.items()
        if mapping.get(name) is not None
    }
    values["prompts"] = _prompts(mapping, path)
    return NumberSettings(**values)


def _settings_data(settings: NumberSettings) -> dict[str, Any]:
    """One layer of settings as JSON-serialisable data."""
    s = settings
    raw: dict[str, Any] = {
        "status": s.status and s.status.value,
        "targets": None
        if s.targets is None
        else [
            {"number": format_number(t.number), "ring_seconds": t.ring_seconds} for t in s.targets
        ],
        "strategy": s.strategy and s.strategy.value,
        "caller_id": s.caller_id and s.caller_id.value,
        "schedule": None if s.schedule is None else _schedule_data(s.schedule),
        "holidays": None if s.holidays is None else [_holiday_data(h) for h in s.holidays],
        "national_holidays": s.national_holidays,
        "prompts": None if s.prompts is None else {k.value: _prompt_data(p) for k, p in s.prompts},
        "block_list": None
        if s.block_list is None
        else sorted(format_number(n) for n in s.block_list),
        "free_pass": None if s.free_pass is None else sorted(format_number(n) for n in s.free_pass),
        "block_anonymous": s.block_anonymous,
        "answer_before_announcement": s.answer_before_announcement,
        "max_talk_seconds": s.max_talk_seconds,
        "callback_sms": _callback_sms_data(s.callback_sms),
    }
    raw.update(_menus_data(s))
    return {k: v for k, v in raw.items() if v is not None}


OUTBOUND_TENANT_KEYS = ("caller_ids", "members", "outbound")
TENANT_KEYS = ("id", "name", "timezone", "numbers", *OUTBOUND_TENANT_KEYS, *SETTING_KEYS)
_TENANT_OWN = ("id", "name", "timezone", "numbers", *OUTBOUND_TENANT_KEYS)
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
    settings = _parse_settings(
        {k: v for k, v in mapping.items() if k not in ("number", "label")}, path
    )
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
    numbers = tuple(
        _entry(item, f"{_at(path, 'numbers')}[{i}]")
        for i, item in enumerate(_expect_list(numbers_data, _at(path, "numbers")))
    )
    defaults = _parse_settings({k: v for k, v in mapping.items() if k not in _TENANT_OWN}, path)
    caller_ids, members, outbound = (mapping.get(k) for k in OUTBOUND_TENANT_KEYS)
    return TenantConfig(
        id=tenant_id,
        name=name,
        timezone=timezone,
        defaults=defaults,
        numbers=numbers,
        caller_ids=None
        if caller_ids is None
        else parse_caller_ids(caller_ids, _at(path, "caller_ids")),
        members=None if members is None else parse_members(members, _at(path, "members")),
        outbound=None if outbound is None else parse_outbound(outbound, _at(path, "outbound")),
    )


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


def entry_from_data(data: object, source: str = "<number>") -> NumberEntry:
    """One number entry (the shape of an item of a tenant's ``numbers:``) from data;
    ValidationError naming ``source`` and the path on the first problem."""
    try:
        return _entry(data, "")
    except Invalid as exc:
        where = f"{source}: {exc.path}" if exc.path else source
        raise ValidationError(exc.message, where) from None


def entry_to_data(entry: NumberEntry) -> dict[str, Any]:
    """The inverse of ``entry_from_data``."""
    return _entry_data(entry)


def outbound_tenant_data(tenant: TenantConfig) -> dict[str, Any]:
    """A tenant's ``caller_ids``, ``members`` and ``outbound`` keys as data (those set)."""
    out: dict[str, Any] = {}
    if tenant.caller_ids is not None:
        out["caller_ids"] = caller_ids_data(tenant.caller_ids)
    if tenant.members is not None:
        out["members"] = [member_data(m) for m in tenant.members]
    if tenant.outbound is not None:
        out["outbound"] = outbound_data(tenant.outbound)
    return out


def document_to_data(doc: ConfigDocument) -> dict[str, Any]:
    """The inverse of ``parse_document``: JSON-serialisable data that parses back equal."""
    tenants = []
    for tenant in doc.tenants:
        item: dict[str, Any] = {"id": tenant.id, "name": tenant.name, "timezone": tenant.timezone}
        item.update(_settings_data(tenant.defaults))
        item.update(outbound_tenant_data(tenant))
        item["numbers"] = [_entry_data(e) for e in tenant.numbers]
        tenants.append(item)
    return {"tenants": tenants}


def _union(
    first: tuple[Holiday, ...] | None, second: tuple[Holiday, ...] | None
) -> tuple[Holiday, ...]:
    """Holidays of both layers, tenant first, without repeats."""
    return tuple(dict.fromkeys((first or ()) + (second or ())))


def _merged_prompts(
    tenant: NumberSettings, own: NumberSettings
) -> tuple[tuple[PromptKind, Prompt], ...]:
    """Prompts merged per kind, the number's winning, in PromptKind order."""
    merged = dict(tenant.prompts or ())
    merged.update(dict(own.prompts or ()))
    return tuple((kind, merged[kind]) for kind in PromptKind if kind in merged)


def resolve(tenant: TenantConfig, entry: NumberEntry, version: int = 0) -> NumberConfig:
    """One number fully resolved against its tenant's defaults (see the module docstring)."""
    base, own = tenant.defaults, entry.settings
    default = NumberConfig(number=entry.number, tenant_id=tenant.id, tenant_name=tenant.name)
    rules = tenant.outbound

    def pick(name: str) -> Any:
        value = getattr(own, name)
        if value is None:
            value = getattr(base, name)
        return getattr(default, name) if value is None else value

    return NumberConfig(
        number=entry.number,
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        timezone=tenant.timezone,
        status=pick("status"),
        targets=pick("targets"),
        strategy=pick("strategy"),
        caller_id=pick("caller_id"),
        schedule=pick("schedule"),
        holidays=_union(base.holidays, own.holidays),
        national_holidays=pick("national_holidays") or None,
        prompts=_merged_prompts(base, own),
        block_list=(base.block_list or frozenset()) | (own.block_list or frozenset()),
        free_pass=(base.free_pass or frozenset()) | (own.free_pass or frozenset()),
        block_anonymous=pick("block_anonymous"),
        answer_before_announcement=pick("answer_before_announcement"),
        max_talk_seconds=pick("max_talk_seconds"),
        version=version,
        callback_sms=merge_policies(base.callback_sms, own.callback_sms),
        menus=_by_id(base.menus, own.menus),
        menu=pick("menu"),
        queues=_by_id(base.queues, own.queues),
        access_number=rules is not None and rules.access_number == entry.number,
        reverse_masking=rules is not None
        and rules.reverse_masking_hours > 0
        and any(c.number == entry.number and c.verified for c in tenant.caller_ids or ()),
    )


def resolve_all(doc: ConfigDocument, version: int = 0) -> dict[str, NumberConfig]:
    """Every number of a document resolved, by normalised number (the last one declared
    wins on a duplicate; ``checks`` reports duplicates)."""
    return {e.number: resolve(t, e, version) for t in doc.tenants for e in t.numbers}
