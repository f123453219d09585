"""The call planner: what happens to a call, decided from configuration alone.

``plan_call(config, caller, called, when)`` returns a CallPlan: ordered steps for an executor
(ARI or FastAGI) and the reasons that led there. Evaluation order, the first that applies
decides:

1. number unknown or terminated -> ``unallocated`` (announce "not in service");
2. number paused -> ``paused`` (announce "temporarily unavailable");
3. caller on the block list -> ``blocked_caller``;
4. anonymous caller (or a caller ID that is not a number) while anonymous callers are
   blocked -> ``blocked_caller``;
5. the schedule state (``schedule.state_at``): holiday, block period, lunch, open hours,
   closed. A free-pass caller forwards whatever that state is (the plan's state stays the
   schedule state, so reports show "closed, forwarded by free pass"); everyone else forwards
   only when open. The free pass never overrides steps 1-4.

Two outbound-calling cases come before step 5: the tenant's **access number** (members call
out through it) is answered and runs the access IVR (``AccessStep``) whatever the hour;
and a caller with a live **reverse-masking session** (``domain.proxy``: a member called
them showing this number) rings that member's mobile, showing the virtual number, whatever
the schedule (the plan's state stays the schedule state, as for a free pass).

A caller string that is not a phone number does not raise: it is an unknown caller (no
block-list or free-pass match) and the plan records why.

A forward plan is ``dial``, preceded by ``play greeting`` when the number has a greeting.
A number with an entry menu (``menu``) gets ``answer, [play greeting], menu`` instead: the
caller chooses with keys (``domain.ivr``); the menu step carries the menus and the number's
dial step for forward items.
When no target answers the executor ends the call with the dial's own cause. An announcement
plan is ``play, hangup``; prompts are early media (the caller is not charged) unless the
number is set to answer before announcements, in which case an ``answer`` step comes first.
Unallocated numbers and blocked callers are never answered: they are rejected with early
media only. The coloring is the one of the schedule state (a block period uses the closed
coloring); a state without its own coloring leaves the normal ringback.

Q.850 causes used on hang-up:

=====  ======================  ==========================================================
cause  name                    when
=====  ======================  ==========================================================
1      unallocated number      number unknown or terminated
3      no route to destination open, but the number has no forward target
16     normal call clearing    after an announcement: closed, lunch, holiday, block period
20     subscriber absent       number paused (SIP 480 Temporarily Unavailable)
21     call rejected           caller on the block list, or anonymous and blocked
=====  ======================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from ivr_engine.domain.causes import Cause
from ivr_engine.domain.ivr import (
    ActionKind,
    Menu,
    MenuAction,
    describe_menu,
    menus_by_id,
    reachable,
)
from ivr_engine.domain.model import (
    CallerIdMode,
    ForwardTarget,
    NumberConfig,
    NumberStatus,
    Prompt,
    PromptKind,
    Strategy,
)
from ivr_engine.domain.numbers import NumberKind, PhoneNumber, format_number, mask, parse_number
from ivr_engine.domain.proxy import ProxySession
from ivr_engine.domain.schedule import ScheduleState, StateAt, state_at
from ivr_engine.errors import ValidationError


class CallState(StrEnum):
    """Why a call goes where it goes: the schedule state, or what overruled it."""

    OPEN = "open"
    LUNCH = "lunch"
    CLOSED = "closed"
    HOLIDAY = "holiday"
    BLOCK_PERIOD = "block_period"
    BLOCKED_CALLER = "blocked_caller"
    PAUSED = "paused"
    UNALLOCATED = "unallocated"


class Outcome(StrEnum):
    """Whether the call reaches a forward target or only hears an announcement."""

    FORWARD = "forward"
    ANNOUNCE = "announce"
    MENU = "menu"  # the caller chooses in an IVR menu
    ACCESS = "access"  # a member calls out through the tenant's access number


def prompt_json(prompt: Prompt | None) -> dict[str, str] | None:
    """A prompt as JSON: ``{"text": ...}`` or ``{"audio": ...}``."""
    if prompt is None:
        return None
    return {"text": prompt.text} if prompt.text is not None else {"audio": prompt.audio or ""}


@dataclass(frozen=True)
class PlayStep:
    """Play a prompt to the caller: the number's own prompt, or a system prompt by name
    ("not-in-service", "after-hours", ...) when the number has none of that kind."""

    action: ClassVar[str] = "play"
    prompt_kind: PromptKind | None
    prompt: Prompt | None
    system_prompt: str | None
    early_media: bool

    def to_json(self) -> dict[str, Any]:
        """The step as JSON."""
        return {
            "action": self.action,
            "prompt_kind": None if self.prompt_kind is None else self.prompt_kind.value,
            "prompt": prompt_json(self.prompt),
            "system_prompt": self.system_prompt,
            "early_media": self.early_media,
        }


@dataclass(frozen=True)
class AnswerStep:
    """Answer the call before playing (the number answers before announcements)."""

    action: ClassVar[str] = "answer"

    def to_json(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"action": self.action}


@dataclass(frozen=True)
class DialStep:
    """Ring the forward targets: the caller hears the coloring, the callee the whisper."""

    action: ClassVar[str] = "dial"
    targets: tuple[ForwardTarget, ...]
    strategy: Strategy
    caller_id: str
    coloring: Prompt | None
    whisper: Prompt | None
    max_talk_seconds: int | None
    caller_id_mode: CallerIdMode = CallerIdMode.CALLER

    def to_json(self) -> dict[str, Any]:
        """The step as JSON (the caller's own number masked)."""
        shown = (
            mask(self.caller_id)
            if self.caller_id_mode is CallerIdMode.CALLER
            else format_number(self.caller_id)
        )
        return {
            "action": self.action,
            "targets": [{"number": t.number, "ring_seconds": t.ring_seconds} for t in self.targets],
            "strategy": self.strategy.value,
            "caller_id": shown,
            "caller_id_mode": self.caller_id_mode.value,
            "coloring": prompt_json(self.coloring),
            "whisper": prompt_json(self.whisper),
            "max_talk_seconds": self.max_talk_seconds,
        }


@dataclass(frozen=True)
class HangupStep:
    """Release the call with a Q.850 cause (see the table in the module docstring)."""

    action: ClassVar[str] = "hangup"
    cause: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"action": self.action, "cause": self.cause, "reason": self.reason}


@dataclass(frozen=True)
class QueueStep:
    """Put the caller in a queue to wait for an agent (``calls.queue``)."""

    action: ClassVar[str] = "queue"
    queue: str

    def to_json(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"action": self.action, "queue": self.queue}

    def describe(self) -> str:
        """The step in words."""
        return f"wait in queue {self.queue} for an agent"


@dataclass(frozen=True)
class MenuStep:
    """Run the IVR menu ``entry``: the caller is answered, hears the menu prompt and chooses
    with keys. ``menus`` are the number's menus; ``dial`` is the number's forwarding
    (targets, coloring, whisper, caller ID), used by forward items."""

    action: ClassVar[str] = "menu"
    entry: str
    menus: tuple[Menu, ...]
    dial: DialStep

    def menu_map(self) -> dict[str, Menu]:
        """The menus by id."""
        return menus_by_id(self.menus)

    def dial_for(self, action: MenuAction) -> DialStep:
        """The dial step of a forward item: its own targets, else the number's."""
        return replace(self.dial, targets=action.targets) if action.targets else self.dial

    def describe(self) -> str:
        """The entry menu in words: its prompt and where each key leads (for dry runs)."""
        menu = self.menu_map()[self.entry]
        return f"{describe_menu(menu)[0]}; " + ", ".join(
            f"{i.digits} -> {i.action.describe()}" for i in menu.items
        )

    def to_json(self) -> dict[str, Any]:
        """The step as JSON: every menu reachable from the entry and where each key leads."""
        by_id = self.menu_map()
        return {
            "action": self.action,
            "entry": self.entry,
            "menus": [menu_json(by_id[m], self) for m in reachable(by_id, self.entry)],
            "dial": self.dial.to_json(),
        }


def menu_action_json(action: MenuAction, step: MenuStep) -> dict[str, Any]:
    """Where a menu action leads, as JSON (forward actions with their dial step)."""
    out: dict[str, Any] = {"action": action.kind.value, "leads_to": action.describe()}
    if action.kind is ActionKind.FORWARD:
        out["dial"] = step.dial_for(action).to_json()
    elif action.kind is ActionKind.QUEUE:
        out["queue"] = action.queue
    elif action.kind is ActionKind.MENU:
        out["menu"] = action.menu
    if action.prompt is not None:
        out["prompt"] = prompt_json(action.prompt)
    return out


def menu_json(menu: Menu, step: MenuStep) -> dict[str, Any]:
    """One menu as JSON: prompt, timeouts, tries, each key's action, the destination."""
    return {
        "id": menu.id,
        "prompt": prompt_json(menu.menu_prompt()),
        "generated_prompt": menu.prompt is None,
        "greeting": prompt_json(menu.greeting),
        "timeout": menu.timeout,
        "digit_timeout": menu.digit_timeout,
        "tries": menu.tries,
        "single_item": menu.single is not None,
        "items": [
            {"key": i.digits, "label": i.spoken_label, **menu_action_json(i.action, step)}
            for i in menu.items
        ],
        "after_last": menu_action_json(menu.destination, step),
    }


@dataclass(frozen=True)
class AccessStep:
    """The access IVR of a tenant's access number (``calls.access``): the caller's number
    identifies a member, who keys a destination (``#`` to end) or 1 for the last customer
    who called the tenant; the call then goes out as an outbound call of that member."""

    action: ClassVar[str] = "access"
    tenant_id: str

    def to_json(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"action": self.action, "tenant": self.tenant_id}


Step = PlayStep | AnswerStep | DialStep | HangupStep | MenuStep | QueueStep | AccessStep


@dataclass(frozen=True)
class CallPlan:
    """What happens to one call: the state that decided it, the outcome, the steps for an
    executor and the reasons, in evaluation order."""

    number: str
    caller: PhoneNumber
    state: CallState
    outcome: Outcome
    steps: tuple[Step, ...]
    reasons: tuple[str, ...]
    tenant_id: str | None
    config_version: int

    @property
    def dial(self) -> DialStep | None:
        """The dial step, if the call is forwarded."""
        return next((s for s in self.steps if isinstance(s, DialStep)), None)

    def to_json(self) -> dict[str, Any]:
        """The plan as one JSON object (the caller's number masked)."""
        return {
            "number": format_number(self.number),
            "caller": masked_caller(self.caller),
            "tenant": self.tenant_id,
            "config_version": self.config_version,
            "state": self.state.value,
            "outcome": self.outcome.value,
            "steps": [s.to_json() for s in self.steps],
            "reasons": list(self.reasons),
        }


def masked_caller(caller: PhoneNumber) -> str:
    """How a caller is shown: masked number, ``anonymous``, or the masked raw text."""
    return caller.masked if caller.digits or caller.anonymous else mask(caller.raw)


def caller_number(raw: str | None) -> tuple[PhoneNumber, str | None]:
    """The caller as a PhoneNumber, and a reason when the caller ID was not a number
    (then it is an anonymous caller: it matches no list, and ``block_anonymous`` blocks it)."""
    try:
        return parse_number("" if raw is None else raw), None
    except ValidationError:
        text = raw if isinstance(raw, str) else repr(raw)
        return (
            PhoneNumber("", NumberKind.ANONYMOUS, text),
            f"caller ID {mask(text)} is not a phone number: treated as an anonymous caller",
        )


_STATE_OF = {
    ScheduleState.OPEN: CallState.OPEN,
    ScheduleState.LUNCH: CallState.LUNCH,
    ScheduleState.CLOSED: CallState.CLOSED,
    ScheduleState.HOLIDAY: CallState.HOLIDAY,
    ScheduleState.BLOCK_PERIOD: CallState.BLOCK_PERIOD,
}
_COLORING_OF = {
    ScheduleState.OPEN: PromptKind.COLORING_OPEN,
    ScheduleState.LUNCH: PromptKind.COLORING_LUNCH,
    ScheduleState.CLOSED: PromptKind.COLORING_CLOSED,
    ScheduleState.HOLIDAY: PromptKind.COLORING_HOLIDAY,
    ScheduleState.BLOCK_PERIOD: PromptKind.COLORING_CLOSED,
}
# Schedule state -> (prompt kind, system prompt name) of the announcement.
_ANNOUNCEMENT_OF = {
    ScheduleState.CLOSED: (PromptKind.AFTER_HOURS, "after-hours"),
    ScheduleState.LUNCH: (PromptKind.LUNCH, "lunch"),
    ScheduleState.HOLIDAY: (PromptKind.HOLIDAY, "holiday"),
    ScheduleState.BLOCK_PERIOD: (PromptKind.BLOCK_PERIOD, "block-period"),
}


def _plan(
    config: NumberConfig,
    caller: PhoneNumber,
    state: CallState,
    outcome: Outcome,
    steps: tuple[Step, ...],
    reasons: list[str],
) -> CallPlan:
    """Assemble a plan for a configured number."""
    return CallPlan(
        config.number,
        caller,
        state,
        outcome,
        steps,
        tuple(reasons),
        config.tenant_id,
        config.version,
    )


def _announce(
    kind: PromptKind | None,
    prompt: Prompt | None,
    system: str,
    cause: int,
    why: str,
    answer_first: bool,
) -> tuple[Step, ...]:
    """``[answer,] play, hangup``: the number's prompt, else the system prompt."""
    play = PlayStep(kind, prompt, None if prompt is not None else system, not answer_first)
    hangup = HangupStep(cause, why)
    return (AnswerStep(), play, hangup) if answer_first else (play, hangup)


def _unallocated(number: str, caller: PhoneNumber, reasons: list[str]) -> CallPlan:
    """An unknown number: 'not in service' as early media, cause 1."""
    reasons.append(f"number {format_number(number)} is not allocated")
    steps = _announce(
        PromptKind.UNALLOCATED,
        None,
        "not-in-service",
        Cause.UNALLOCATED,
        "unallocated number",
        False,
    )
    return CallPlan(
        number, caller, CallState.UNALLOCATED, Outcome.ANNOUNCE, steps, tuple(reasons), None, 0
    )


def _forward(
    config: NumberConfig, caller: PhoneNumber, at: StateAt, reasons: list[str]
) -> CallPlan:
    """Greeting (if any), then dial the targets with coloring and whisper."""
    if config.menu is not None:
        if any(m.id == config.menu for m in config.menus):
            return _menu(config, caller, at, reasons)
        reasons.append(f"entry menu {config.menu} is not defined: ringing the targets")
    state = _STATE_OF[at.state]
    answer_first = config.answer_before_announcement
    if not config.targets:
        reasons.append("no forward target is configured")
        announce = _announce(
            None,
            None,
            "cannot-be-reached",
            Cause.NO_ROUTE_DESTINATION,
            "no forward target",
            answer_first,
        )
        return _plan(config, caller, state, Outcome.ANNOUNCE, announce, reasons)
    virtual = config.caller_id is CallerIdMode.VIRTUAL
    dial = DialStep(
        config.targets,
        config.strategy,
        config.number if virtual else caller.digits,
        config.prompt(_COLORING_OF[at.state]),
        config.prompt(PromptKind.WHISPER),
        config.max_talk_seconds,
        config.caller_id,
    )
    greeting = config.prompt(PromptKind.GREETING)
    steps: tuple[Step, ...] = (dial,)
    if greeting is not None:
        play = PlayStep(PromptKind.GREETING, greeting, None, not answer_first)
        steps = (AnswerStep(), play, dial) if answer_first else (play, dial)
    targets = " then " if config.strategy is Strategy.SEQUENTIAL else " and "
    reasons.append(
        f"forward to {targets.join(mask(t.number) for t in config.targets)} "
        f"({config.strategy.value})"
    )
    return _plan(config, caller, state, Outcome.FORWARD, steps, reasons)


def _number_dial(config: NumberConfig, caller: PhoneNumber, at: StateAt) -> DialStep:
    """The number's forwarding as a dial step (its targets, coloring, whisper, caller ID)."""
    virtual = config.caller_id is CallerIdMode.VIRTUAL
    return DialStep(
        config.targets,
        config.strategy,
        config.number if virtual else caller.digits,
        config.prompt(_COLORING_OF[at.state]),
        config.prompt(PromptKind.WHISPER),
        config.max_talk_seconds,
        config.caller_id,
    )


def _menu(config: NumberConfig, caller: PhoneNumber, at: StateAt, reasons: list[str]) -> CallPlan:
    """Answer, greeting (if any), then the entry menu instead of ringing the targets."""
    entry = config.menu or ""
    step = MenuStep(entry, config.menus, _number_dial(config, caller, at))
    by_id = step.menu_map()
    steps: tuple[Step, ...] = (AnswerStep(),)
    greeting = config.prompt(PromptKind.GREETING)
    if greeting is not None:
        steps += (PlayStep(PromptKind.GREETING, greeting, None, False),)
    steps += (step,)
    for menu_id in reachable(by_id, entry):
        menu = by_id[menu_id]
        choices = ", ".join(f"{i.digits} -> {i.action.describe()}" for i in menu.items)
        if menu.single is not None:
            reasons.append(
                f"menu {menu_id}: single item, connects without prompting: "
                f"{menu.single.action.describe()}"
            )
        else:
            reasons.append(
                f"menu {menu_id}: {choices}; after {menu.tries} tries -> "
                f"{menu.destination.describe()}"
            )
    return _plan(config, caller, _STATE_OF[at.state], Outcome.MENU, steps, reasons)


def _announce_state(
    config: NumberConfig, caller: PhoneNumber, at: StateAt, reasons: list[str]
) -> CallPlan:
    """Closed, lunch, holiday or block period: its announcement, then normal clearing."""
    kind, system = _ANNOUNCEMENT_OF[at.state]
    own = at.holiday.prompt if at.holiday is not None else None
    if at.block_period is not None:
        own = at.block_period.prompt
    prompt = own if own is not None else config.prompt(kind)
    steps = _announce(
        kind,
        prompt,
        system,
        Cause.NORMAL_CLEARING,
        f"{at.state.value} announcement",
        config.answer_before_announcement,
    )
    return _plan(config, caller, _STATE_OF[at.state], Outcome.ANNOUNCE, steps, reasons)


def _refused(config: NumberConfig, caller: PhoneNumber, reasons: list[str]) -> CallPlan | None:
    """The plan when the number's status or the caller lists refuse the call, else None."""
    if config.status is NumberStatus.TERMINATED:
        reasons.append("number is terminated: not in service")
        steps = _announce(
            PromptKind.UNALLOCATED,
            config.prompt(PromptKind.UNALLOCATED),
            "not-in-service",
            Cause.UNALLOCATED,
            "terminated number",
            False,
        )
        return _plan(config, caller, CallState.UNALLOCATED, Outcome.ANNOUNCE, steps, reasons)
    if config.status is NumberStatus.PAUSED:
        reasons.append("number is paused: temporarily unavailable")
        steps = _announce(
            PromptKind.PAUSED,
            config.prompt(PromptKind.PAUSED),
            "temporarily-unavailable",
            Cause.SUBSCRIBER_ABSENT,
            "paused number",
            config.answer_before_announcement,
        )
        return _plan(config, caller, CallState.PAUSED, Outcome.ANNOUNCE, steps, reasons)
    if caller.digits and caller.digits in config.block_list:
        reasons.append(f"caller {caller.masked} is on the block list")
    elif caller.anonymous and config.block_anonymous:
        reasons.append("anonymous caller: anonymous callers are blocked")
    else:
        return None
    steps = _announce(
        PromptKind.BLOCKED_CALLER,
        config.prompt(PromptKind.BLOCKED_CALLER),
        "blocked-caller",
        Cause.CALL_REJECTED,
        "blocked caller",
        False,
    )
    return _plan(config, caller, CallState.BLOCKED_CALLER, Outcome.ANNOUNCE, steps, reasons)


def _to_member(
    config: NumberConfig,
    caller: PhoneNumber,
    at: StateAt,
    session: ProxySession,
    reasons: list[str],
) -> CallPlan:
    """Reverse masking: ring the member who last called this caller, showing the number."""
    reasons.append(
        f"caller {caller.masked} was called by member {session.member_name} showing "
        f"{format_number(config.number)}: ringing {mask(session.member_mobile)} "
        f"(session until {session.expires_at.isoformat(timespec='minutes')})"
    )
    dial = DialStep(
        (ForwardTarget(session.member_mobile, 30),),
        Strategy.SEQUENTIAL,
        config.number,
        config.prompt(_COLORING_OF[at.state]),
        None,
        config.max_talk_seconds,
        CallerIdMode.VIRTUAL,
    )
    return _plan(config, caller, _STATE_OF[at.state], Outcome.FORWARD, (dial,), reasons)


def plan_for(
    config: NumberConfig,
    caller: PhoneNumber,
    when: datetime,
    reasons: list[str] | None = None,
    session: ProxySession | None = None,
) -> CallPlan:
    """The plan for an already parsed caller (see ``plan_call``)."""
    reasons = [] if reasons is None else reasons
    refused = _refused(config, caller, reasons)
    if refused is not None:
        return refused
    if config.access_number:
        reasons.append("the tenant's access number: members call out through it")
        steps = (AnswerStep(), AccessStep(config.tenant_id))
        return _plan(config, caller, CallState.OPEN, Outcome.ACCESS, steps, reasons)
    at = state_at(config, when)
    reasons.append(at.reason)
    live = session is not None and config.reverse_masking and session.active(when)
    if live and session is not None and caller.digits == session.customer:
        return _to_member(config, caller, at, session, reasons)
    if session is not None and not live:
        reasons.append("the caller's reverse-masking session has expired")
    if at.state is ScheduleState.OPEN:
        return _forward(config, caller, at, reasons)
    if caller.digits and caller.digits in config.free_pass:
        reasons.append(f"caller {caller.masked} has a free pass")
        return _forward(config, caller, at, reasons)
    return _announce_state(config, caller, at, reasons)


def plan_call(
    config: NumberConfig | None,
    caller: str | None,
    called: str,
    when: datetime,
    session: ProxySession | None = None,
) -> CallPlan:
    """Decide what happens to a call from ``caller`` to ``called`` at ``when`` (aware).

    ``config`` is the called number's resolved configuration, None when the number is not
    ours; ``session`` the caller's reverse-masking session on this number, if any. Never
    raises for a bad caller ID; raises ValueError for a naive ``when``.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone; pass an aware datetime")
    who, note = caller_number(caller)
    reasons = [] if note is None else [note]
    if config is None:
        number = called
        try:
            number = parse_number(called).digits or called
        except ValidationError:
            pass
        return _unallocated(number, who, reasons)
    return plan_for(config, who, when, reasons, session)
