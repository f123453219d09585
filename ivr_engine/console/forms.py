"""The number settings form: from the configuration entry to form fields and back, and
what a change would change. Pure functions; the checks themselves stay where they are
(``entry_from_data`` and the loader), this only translates.

    fields = form_fields(entry_data)                # for the template
    data, errors = apply_form(entry_data, posted)   # errors: form field -> message
    config_diff(entry_data, data)                   # [("schedule.open.sat", "...", "...")]
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from ivr_engine.domain.numbers import try_normalize

MAX_TARGETS = 5
PROMPT_FIELDS = ("greeting", "coloring_open", "whisper", "after_hours", "lunch", "holiday")
STATUSES = ("active", "paused", "terminated")
STRATEGIES = ("", "sequential", "simultaneous")
_DAYS = re.compile(r"^[a-z]{3}(-[a-z]{3})?(,[a-z]{3}(-[a-z]{3})?)*$")
_HOLIDAY_DATE = re.compile(r"^(\d{4}-)?\d{2}-\d{2}$")
NUMBER_LISTS = ("block_list", "free_pass")


def schedule_text(weekly: Mapping[str, list[str]] | None) -> str:
    """A weekly mapping (``{"mon-fri": ["11:00-15:00"]}``) as lines of the form."""
    if not weekly:
        return ""
    return "\n".join(f"{days} {' '.join(ranges)}" for days, ranges in weekly.items())


def parse_schedule_text(text: str) -> tuple[dict[str, list[str]], str | None]:
    """Lines ``days hours...`` as a weekly mapping, or an error message for the first
    line that is not one (the hours themselves are checked by the configuration parser)."""
    out: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words:
            continue
        days = words[0].lower()
        ranges = [r for w in words[1:] for r in w.split(",") if r]
        if not _DAYS.match(days) or not ranges:
            return {}, f"line {number}: write the days then the hours, e.g. mon-fri 09:00-18:00"
        out.setdefault(days, []).extend(ranges)
    return out, None


def holidays_text(holidays: list[Mapping[str, Any]] | None) -> str:
    """Holidays as lines ``2026-12-31 송년 휴무`` (yearly ones without the year)."""
    return "\n".join(f"{h.get('date', '')} {h.get('name', '')}".strip() for h in holidays or [])


def parse_holidays_text(
    text: str, current: list[Mapping[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Lines ``YYYY-MM-DD name`` (one day) or ``MM-DD name`` (every year) as holidays, or
    an error message for the first line that is not one. A holiday kept on its date keeps
    the prompt it had (the form does not show prompts)."""
    prompts = {str(h.get("date")): h["prompt"] for h in current or [] if h.get("prompt")}
    out: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split(maxsplit=1)
        if not words:
            continue
        when = words[0]
        example = "e.g. 2026-12-31 송년 휴무, or 06-15 창립기념일 every year"
        if not _HOLIDAY_DATE.match(when) or len(words) < 2:
            return [], f"line {number}: write the date then the name, {example}"
        parts = [int(p) for p in when.split("-")]
        try:
            date(*parts) if len(parts) == 3 else date(2000, *parts)
        except ValueError:
            return [], f"line {number}: {when} is not a date"
        holiday: dict[str, Any] = {"date": when, "name": words[1].strip()}
        if len(parts) == 2:
            holiday["yearly"] = True
        if when in prompts:
            holiday["prompt"] = prompts[when]
        out.append(holiday)
    return out, None


def parse_numbers_text(text: str) -> tuple[list[str], str | None]:
    """One phone number a line (as written), or an error for the first that is none."""
    out: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        value = raw.strip()
        if not value:
            continue
        if try_normalize(value) is None:
            return [], f"line {number}: {value!r} is not a phone number"
        out.append(value)
    return out, None


def form_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for a number's entry."""
    schedule = data.get("schedule") or {}
    prompts = data.get("prompts") or {}
    targets = list(data.get("targets") or [])
    fields: dict[str, Any] = {
        "label": data.get("label", ""),
        "status": data.get("status", "active"),
        "strategy": data.get("strategy", ""),
        "schedule_open": schedule_text(schedule.get("open")),
        "schedule_lunch": schedule_text(schedule.get("lunch")),
        "targets": [
            (t.get("number", ""), str(t.get("ring_seconds", ""))) for t in targets[:MAX_TARGETS]
        ],
    }
    fields["targets"] += [("", "")] * (MAX_TARGETS - len(fields["targets"]))
    fields["holidays"] = holidays_text(data.get("holidays"))
    for key in NUMBER_LISTS:
        fields[key] = "\n".join(str(n) for n in data.get(key) or [])
    for kind in PROMPT_FIELDS:
        prompt = prompts.get(kind) or {}
        fields[f"prompt_{kind}"] = prompt.get("text", "")
        fields[f"prompt_{kind}_file"] = prompt.get("file", "")
    return fields


def _targets(form: Mapping[str, str], errors: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for i in range(MAX_TARGETS):
        number = form.get(f"target_number_{i}", "").strip()
        ring = form.get(f"target_ring_{i}", "").strip()
        if not number:
            continue
        target: dict[str, Any] = {"number": number}
        if ring:
            if not ring.isdigit():
                errors.setdefault("targets", f"ring time of {number} must be whole seconds")
                continue
            target["ring_seconds"] = int(ring)
        out.append(target)
    return out


def apply_form(
    current: Mapping[str, Any], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry the form asks for (keys the form does not show are kept as they are) and
    the form-level errors by field."""
    errors: dict[str, str] = {}
    data = json.loads(json.dumps(current))
    label = form.get("label", "").strip()
    if label:
        data["label"] = label
    else:
        data.pop("label", None)
    status = form.get("status", "active")
    if status not in STATUSES:
        errors["status"] = f"status is one of {', '.join(STATUSES)}"
    elif status == "active":
        data.pop("status", None)
    else:
        data["status"] = status
    strategy = form.get("strategy", "")
    if strategy not in STRATEGIES:
        errors["strategy"] = "strategy is sequential or simultaneous"
    elif strategy:
        data["strategy"] = strategy
    else:
        data.pop("strategy", None)
    targets = _targets(form, errors)
    if targets:
        data["targets"] = targets
    else:
        data.pop("targets", None)
    schedule = dict(data.get("schedule") or {})
    for part in ("open", "lunch"):
        weekly, problem = parse_schedule_text(form.get(f"schedule_{part}", ""))
        if problem:
            errors[f"schedule_{part}"] = problem
        if weekly:
            schedule[part] = weekly
        else:
            schedule.pop(part, None)
    if schedule:
        data["schedule"] = schedule
    else:
        data.pop("schedule", None)
    _apply_lists(data, form, errors)
    prompts = dict(data.get("prompts") or {})
    for kind in PROMPT_FIELDS:
        if (prompts.get(kind) or {}).get("file"):
            continue  # an uploaded recording: not edited here
        text = form.get(f"prompt_{kind}", "").strip()
        if text:
            prompts[kind] = {"text": text}
        else:
            prompts.pop(kind, None)
    if prompts:
        data["prompts"] = prompts
    else:
        data.pop("prompts", None)
    return data, errors


def _apply_lists(data: dict[str, Any], form: Mapping[str, str], errors: dict[str, str]) -> None:
    """Holidays, block list and free pass from their text areas (absent: left as they are)."""
    if "holidays" in form:
        holidays, problem = parse_holidays_text(form["holidays"], data.get("holidays"))
        if problem:
            errors["holidays"] = problem
        elif holidays:
            data["holidays"] = holidays
        else:
            data.pop("holidays", None)
    for key in NUMBER_LISTS:
        if key not in form:
            continue
        numbers, problem = parse_numbers_text(form[key])
        if problem:
            errors[key] = problem
        elif numbers:
            data[key] = numbers
        else:
            data.pop(key, None)


def field_of(path: str) -> str:
    """The form field a configuration path (``targets[0].number``, ``prompts.lunch``,
    ``schedule.open.mon-fri[1]``) belongs to; '' when none."""
    path = path.split(": ")[-1]
    for prefix, name in (
        ("targets", "targets"),
        ("schedule.open", "schedule_open"),
        ("schedule.lunch", "schedule_lunch"),
        ("schedule", "schedule_open"),
        ("status", "status"),
        ("strategy", "strategy"),
        ("label", "label"),
        ("holidays", "holidays"),
        ("block_list", "block_list"),
        ("free_pass", "free_pass"),
    ):
        if path.startswith(prefix):
            return name
    match = re.match(r"prompts\.(\w+)", path)
    if match and match.group(1) in PROMPT_FIELDS:
        return f"prompt_{match.group(1)}"
    return ""


def field_of_message(message: str) -> str:
    """The form field a check's message names (its path after ``numbers[..].``), or ''."""
    match = re.search(r"numbers\[\d+\]\.([\w.\[\]-]+)", message)
    return field_of(match.group(1)) if match else ""


def _flatten(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{i}]", out)
    else:
        out[path] = json.dumps(value, ensure_ascii=False)


def config_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(path, before, after) of every leaf that differs; '' for a side without it."""
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    _flatten(dict(old), "", before)
    _flatten(dict(new), "", after)
    return [
        (key, before.get(key, ""), after.get(key, ""))
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]
