"""The configuration model: tenants, virtual numbers and what a number does with a call.

Pure data. Two layers:

* ``NumberSettings`` holds what a tenant sets as a default or a number sets for itself; every
  field is optional (``None`` = not set here) so the most specific layer wins.
* ``NumberConfig`` is one number fully resolved (tenant defaults merged with the number's own
  settings): the only thing the planner reads.

Phone numbers inside these objects are always normalised (``domain.numbers``): national
digits such as ``01011112222`` or ``05051234567``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ivr_engine.domain.sms_policy import SmsPolicy

if TYPE_CHECKING:
    from ivr_engine.domain.ivr import Menu
    from ivr_engine.domain.members import CallerId, Member, OutboundRules


class NumberStatus(StrEnum):
    """Lifecycle of a virtual number."""

    ACTIVE = "active"
    PAUSED = "paused"  # plays "temporarily unavailable"
    TERMINATED = "terminated"  # unallocated; cannot be issued again for 90 days


class Strategy(StrEnum):
    """How several forward targets are rung."""

    SEQUENTIAL = "sequential"  # one after another, failover on busy / no answer / unreachable
    SIMULTANEOUS = "simultaneous"  # all at once, first to answer wins


class CallerIdMode(StrEnum):
    """Which number the forward target sees as the calling number."""

    CALLER = "caller"  # the caller's own number
    VIRTUAL = "virtual_number"  # the 050 number that was dialled


class PromptKind(StrEnum):
    """Every prompt a number can carry. Coloring is per schedule state."""

    GREETING = "greeting"
    COLORING_OPEN = "coloring_open"
    COLORING_LUNCH = "coloring_lunch"
    COLORING_CLOSED = "coloring_closed"
    COLORING_HOLIDAY = "coloring_holiday"
    WHISPER = "whisper"
    AFTER_HOURS = "after_hours"
    LUNCH = "lunch"
    HOLIDAY = "holiday"
    BLOCK_PERIOD = "block_period"
    BLOCKED_CALLER = "blocked_caller"
    PAUSED = "paused"
    UNALLOCATED = "unallocated"


PROMPT_TEXT_MAX = 240  # characters; longer texts are refused (TTS and carrier limits)


@dataclass(frozen=True)
class Prompt:
    """A prompt: a text spoken by TTS, or an audio file. Exactly one of the two is set."""

    text: str | None = None
    audio: str | None = None  # path of an uploaded wav/mp3, or an Asterisk sound name

    def describe(self) -> str:
        """A short human description for traces and dry runs."""
        if self.text is not None:
            return f'"{self.text}"'
        return f"audio {self.audio}"


@dataclass(frozen=True)
class ForwardTarget:
    """A real phone a virtual number forwards to, with how long it may ring."""

    number: str
    ring_seconds: int = 20


@dataclass(frozen=True)
class Interval:
    """A daily time interval [start, end). ``end <= start`` means it runs past midnight
    (22:00-02:00); the part after midnight belongs to the weekday it started on."""

    start: time
    end: time

    @property
    def overnight(self) -> bool:
        """True when the interval crosses midnight."""
        return self.end <= self.start


# Weekday numbers follow ``date.weekday()``: 0 = Monday ... 6 = Sunday.
WeeklyIntervals = tuple[tuple[int, tuple[Interval, ...]], ...]


@dataclass(frozen=True)
class BlockPeriod:
    """A named period on chosen weekdays when calls get their own announcement
    (a weekly meeting, a cleaning hour)."""

    name: str
    days: frozenset[int]
    interval: Interval
    prompt: Prompt | None = None


@dataclass(frozen=True)
class Schedule:
    """When a number is open. ``open`` maps weekdays to open intervals; a weekday missing
    from it is closed all day. ``lunch`` intervals take precedence over ``open``."""

    open: WeeklyIntervals = ()
    lunch: WeeklyIntervals = ()
    block_periods: tuple[BlockPeriod, ...] = ()

    def open_on(self, weekday: int) -> tuple[Interval, ...]:
        """Open intervals that start on the given weekday."""
        return dict(self.open).get(weekday, ())

    def lunch_on(self, weekday: int) -> tuple[Interval, ...]:
        """Lunch intervals that start on the given weekday."""
        return dict(self.lunch).get(weekday, ())


@dataclass(frozen=True)
class Holiday:
    """A day off: one-off (``year`` set) or repeating every year (``year`` None)."""

    month: int
    day: int
    name: str
    year: int | None = None
    prompt: Prompt | None = None

    @property
    def yearly(self) -> bool:
        """True when the holiday repeats every year."""
        return self.year is None


@dataclass(frozen=True)
class NumberSettings:
    """Settings of one layer (tenant defaults or one number). ``None`` = not set here."""

    status: NumberStatus | None = None
    targets: tuple[ForwardTarget, ...] | None = None
    strategy: Strategy | None = None
    caller_id: CallerIdMode | None = None
    schedule: Schedule | None = None
    holidays: tuple[Holiday, ...] | None = None
    national_holidays: str | None = None  # ISO country code, e.g. "KR"; "" switches off
    prompts: tuple[tuple[PromptKind, Prompt], ...] | None = None
    block_list: frozenset[str] | None = None
    free_pass: frozenset[str] | None = None
    block_anonymous: bool | None = None
    answer_before_announcement: bool | None = None
    max_talk_seconds: int | None = None
    menus: tuple[Menu, ...] | None = None  # IVR menus (domain.ivr), merged by id
    menu: str | None = None  # the entry menu's id: calls go to the menu instead of ringing
    queues: tuple[Any, ...] | None = None  # queue definitions (domain.queue_doc), by id
    callback_sms: SmsPolicy | None = None  # callback texts (domain.sms_policy)


@dataclass(frozen=True)
class NumberEntry:
    """One virtual number as declared under a tenant."""

    number: str
    settings: NumberSettings = field(default_factory=NumberSettings)
    label: str = ""


@dataclass(frozen=True)
class TenantConfig:
    """A tenant (a business) with its time zone, defaults and numbers."""

    id: str
    name: str
    timezone: str = "Asia/Seoul"
    defaults: NumberSettings = field(default_factory=NumberSettings)
    numbers: tuple[NumberEntry, ...] = ()
    # Outbound calling (``domain.members``); None: not in this document (left as stored).
    caller_ids: tuple[CallerId, ...] | None = None
    members: tuple[Member, ...] | None = None
    outbound: OutboundRules | None = None


@dataclass(frozen=True)
class ConfigDocument:
    """A whole declarative configuration (what ``ivr-engine load`` imports)."""

    tenants: tuple[TenantConfig, ...] = ()


@dataclass(frozen=True)
class NumberConfig:
    """One virtual number, fully resolved: what the planner decides on.

    Lists that add up across layers (holidays, block list, free pass) are the union of the
    tenant's and the number's; everything else takes the number's value when set, else the
    tenant's, else the built-in default.
    """

    number: str
    tenant_id: str
    tenant_name: str
    timezone: str = "Asia/Seoul"
    status: NumberStatus = NumberStatus.ACTIVE
    targets: tuple[ForwardTarget, ...] = ()
    strategy: Strategy = Strategy.SEQUENTIAL
    caller_id: CallerIdMode = CallerIdMode.CALLER
    schedule: Schedule | None = None  # None: open around the clock
    holidays: tuple[Holiday, ...] = ()
    national_holidays: str | None = None
    prompts: tuple[tuple[PromptKind, Prompt], ...] = ()
    block_list: frozenset[str] = frozenset()
    free_pass: frozenset[str] = frozenset()
    block_anonymous: bool = False
    answer_before_announcement: bool = False
    max_talk_seconds: int | None = None
    version: int = 0  # configuration version (bumped on every change), recorded in CDRs
    menus: tuple[Menu, ...] = ()  # the tenant's and the number's menus (number wins by id)
    menu: str | None = None  # the entry menu; None: calls ring the targets directly
    queues: tuple[Any, ...] = ()  # the tenant's and the number's queues (number wins by id)
    callback_sms: SmsPolicy | None = None  # merged field by field, the number's winning
    access_number: bool = False  # the tenant's access number: members call out through it
    reverse_masking: bool = False  # a verified caller ID: call-backs may reach a member

    def prompt(self, kind: PromptKind) -> Prompt | None:
        """The prompt of that kind, if the number (or its tenant) has one."""
        for k, p in self.prompts:
            if k == kind:
                return p
        return None
