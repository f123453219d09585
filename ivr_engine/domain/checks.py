"""Static checks of a configuration document (``ivr-engine check``).

Parsing refuses what cannot be read at all; these checks find what reads fine but will not
do what its author meant. Every finding names the path inside the document. Errors are
configurations that must not go live (a forwarding loop, overlapping open hours, a prompt
that cannot be played); warnings are allowed but probably unintended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ivr_engine.domain.calendar import calendar_known
from ivr_engine.domain.config_doc import resolve
from ivr_engine.domain.model import (
    PROMPT_TEXT_MAX,
    ConfigDocument,
    NumberConfig,
    NumberSettings,
    NumberStatus,
    Prompt,
)
from ivr_engine.domain.numbers import NumberKind, format_number, mask, parse_number
from ivr_engine.domain.schedule import DAY_NAMES, Segment, compile_schedule, format_interval

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem found in a document: how bad, where, and what."""

    severity: str  # "error" | "warning"
    path: str
    message: str

    def __str__(self) -> str:
        """``error: tenants[0].numbers[0].targets[0]: ...`` as ``check`` prints it."""
        return f"{self.severity}: {self.path}: {self.message}"


def _prompt(prompt: Prompt | None, path: str, file_exists: Callable[[str], bool]) -> list[Finding]:
    """A prompt too long to speak, or whose audio file is missing."""
    if prompt is None:
        return []
    if prompt.text is not None and len(prompt.text) > PROMPT_TEXT_MAX:
        return [
            Finding(
                ERROR,
                path,
                f"prompt text has {len(prompt.text)} characters; "
                f"at most {PROMPT_TEXT_MAX} are allowed",
            )
        ]
    if prompt.audio is not None and not file_exists(prompt.audio):
        return [Finding(ERROR, path, f"audio file {prompt.audio!r} does not exist")]
    return []


def _prompts(
    settings: NumberSettings, path: str, file_exists: Callable[[str], bool]
) -> list[Finding]:
    """Every prompt of one layer: by kind, per holiday, per block period."""
    found: list[Finding] = []
    for kind, prompt in settings.prompts or ():
        found += _prompt(prompt, f"{path}.prompts.{kind.value}", file_exists)
    for i, holiday in enumerate(settings.holidays or ()):
        found += _prompt(holiday.prompt, f"{path}.holidays[{i}].prompt", file_exists)
    schedule = settings.schedule
    for i, period in enumerate(schedule.block_periods if schedule else ()):
        found += _prompt(period.prompt, f"{path}.schedule.block_periods[{i}].prompt", file_exists)
    return found


def _queues(settings: NumberSettings, path: str) -> list[Finding]:
    """Queues declared without agents. A warning, not an error: agents may be added with
    ``ivr-engine agent`` outside the file, and a caller is not lost (after the longest wait
    the queue's overflow applies), but as written nobody ever answers."""
    return [
        Finding(
            WARNING,
            f"{path}.queues[{i}].agents",
            f'queue "{queue.id}" has no agents: callers wait {queue.max_wait_seconds} s '
            "for the overflow unless agents are added with ivr-engine agent add",
        )
        for i, queue in enumerate(settings.queues or ())
        if not queue.agents
    ]


def _named(seg: Segment) -> str:
    """A segment's interval with the day it starts on: ``fri 22:00-02:00``."""
    return f"{DAY_NAMES[seg.origin]} {format_interval(seg.interval)}"


def _within_day(seg: Segment, opened: tuple[Segment, ...]) -> bool:
    """True when [seg.start, seg.end) lies between the day's first opening and last closing
    (a lunch break written as the gap between two open intervals is fine)."""
    if not opened:
        return False
    return min(s.start for s in opened) <= seg.start and seg.end <= max(s.end for s in opened)


def _schedule(settings: NumberSettings, path: str) -> list[Finding]:
    """Overlapping open intervals (overnight parts included), day-long intervals written as
    start == end, and lunch or block periods outside open hours."""
    schedule = settings.schedule
    if schedule is None:
        return []
    found: list[Finding] = []
    for weekday, intervals in schedule.open:
        for iv in intervals:
            if iv.start == iv.end and iv.start.hour + iv.start.minute:
                found.append(
                    Finding(
                        WARNING,
                        f"{path}.schedule.open.{DAY_NAMES[weekday]}",
                        f"{format_interval(iv)} covers 24 hours",
                    )
                )
    compiled = compile_schedule(schedule)
    for day in range(7):
        segs = compiled.open[day]
        where = f"{path}.schedule.open.{DAY_NAMES[day]}"
        for i, first in enumerate(segs):
            for second in segs[i + 1 :]:
                if second.start < first.end:
                    found.append(
                        Finding(
                            ERROR,
                            where,
                            f"{_named(first)} overlaps {_named(second)} on {DAY_NAMES[day]}",
                        )
                    )
        for seg in compiled.lunch[day]:
            if not _within_day(seg, segs):
                found.append(
                    Finding(
                        WARNING,
                        f"{path}.schedule.lunch.{DAY_NAMES[day]}",
                        f"{seg.reason} on {DAY_NAMES[day]} is outside open hours "
                        "(callers hear the lunch announcement there)",
                    )
                )
        for seg in compiled.block[day]:
            if not _within_day(seg, segs):
                found.append(
                    Finding(
                        WARNING,
                        f"{path}.schedule.block_periods",
                        f"{seg.reason} on {DAY_NAMES[day]} is outside open hours",
                    )
                )
    return found


def _targets(settings: NumberSettings, path: str, ours: frozenset[str]) -> list[Finding]:
    """Forward targets that are our own virtual numbers: the call would come back to us."""
    return [
        Finding(
            ERROR,
            f"{path}.targets[{i}]",
            f"target {format_number(t.number)} is one of our own virtual numbers "
            "(the call would loop)",
        )
        for i, t in enumerate(settings.targets or ())
        if t.number in ours
    ]


def _both_lists(common: frozenset[str], path: str) -> list[Finding]:
    """Callers on the block list and the free pass at once (the block list wins)."""
    return [
        Finding(
            WARNING,
            path,
            f"caller {mask(n)} is on both the block list and the free pass; the block list wins",
        )
        for n in sorted(common)
    ]


def _resolved(config: NumberConfig, path: str, tenant_both: frozenset[str]) -> list[Finding]:
    """Checks on a number merged with its tenant defaults."""
    found: list[Finding] = []
    if config.status is NumberStatus.TERMINATED and config.targets:
        found.append(
            Finding(WARNING, path, "terminated number has forward targets (they are never rung)")
        )
    if config.status is NumberStatus.ACTIVE and not config.targets and config.menu is None:
        found.append(
            Finding(
                WARNING,
                path,
                "active number has no forward target "
                "(callers in open hours hear 'cannot be reached')",
            )
        )
    if parse_number(config.number).kind is not NumberKind.VIRTUAL:
        found.append(
            Finding(
                WARNING,
                f"{path}.number",
                f"{format_number(config.number)} is not a 050 virtual number",
            )
        )
    both = (config.block_list & config.free_pass) - tenant_both
    found += _both_lists(both, path)
    return found


def _calendars(doc: ConfigDocument, today: date) -> list[Finding]:
    """National calendars that are not known for this year or the next."""
    found: list[Finding] = []
    seen: set[str] = set()
    for ti, tenant in enumerate(doc.tenants):
        layers = [(f"tenants[{ti}]", tenant.defaults)]
        layers += [
            (f"tenants[{ti}].numbers[{ni}]", e.settings) for ni, e in enumerate(tenant.numbers)
        ]
        for path, settings in layers:
            country = settings.national_holidays
            if not country or country in seen:
                continue
            seen.add(country)
            for year in (today.year, today.year + 1):
                if not calendar_known(country, year):
                    found.append(
                        Finding(
                            WARNING,
                            f"{path}.national_holidays",
                            f"the national calendar of {country} is not known "
                            f"for {year} (holidays such as lunar New Year would "
                            "be missed)",
                        )
                    )
    return found


def _duplicates(doc: ConfigDocument) -> list[Finding]:
    """Virtual numbers declared more than once."""
    first: dict[str, str] = {}
    found: list[Finding] = []
    for ti, tenant in enumerate(doc.tenants):
        for ni, entry in enumerate(tenant.numbers):
            path = f"tenants[{ti}].numbers[{ni}].number"
            if entry.number in first:
                found.append(
                    Finding(
                        ERROR,
                        path,
                        f"{format_number(entry.number)} is already "
                        f"declared at {first[entry.number]}",
                    )
                )
            else:
                first[entry.number] = path
    return found


def check_document(
    doc: ConfigDocument,
    *,
    today: date,
    file_exists: Callable[[str], bool] = lambda p: True,
    other_virtual_numbers: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Every finding in a document, in document order; ``file_exists`` tells whether an
    audio prompt exists and ``other_virtual_numbers`` are our numbers not in this document
    (both given by the caller: this module does no I/O)."""
    ours = frozenset(e.number for t in doc.tenants for e in t.numbers) | other_virtual_numbers
    found = _duplicates(doc)
    for ti, tenant in enumerate(doc.tenants):
        path = f"tenants[{ti}]"
        base = tenant.defaults
        tenant_both = (base.block_list or frozenset()) & (base.free_pass or frozenset())
        found += _prompts(base, path, file_exists) + _schedule(base, path)
        found += _targets(base, path, ours) + _both_lists(tenant_both, path)
        found += _queues(base, path)
        for ni, entry in enumerate(tenant.numbers):
            npath = f"{path}.numbers[{ni}]"
            own = entry.settings
            found += _prompts(own, npath, file_exists) + _schedule(own, npath)
            found += _targets(own, npath, ours) + _queues(own, npath)
            found += _resolved(resolve(tenant, entry), npath, tenant_both)
    from ivr_engine.domain.member_checks import check_members
    from ivr_engine.domain.menu_checks import check_menus

    found += check_menus(doc, lambda prompt, where: _prompt(prompt, where, file_exists))
    found += check_members(doc)
    return found + _calendars(doc, today)
