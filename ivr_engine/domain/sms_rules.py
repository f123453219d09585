"""Whether a finished call gets a callback text, what it says and when: a pure decision.

``decide(config, call, history, now)`` reads the number's resolved policy, the call's facts
and what was texted before, and returns a Decision:

* ``send``: queue the message for ``send_at`` (hangup + delay); ``needs_approval`` keeps
  it held until a person approves it;
* ``hold_until``: the same, but later, because of the send window or the advertising night;
* ``suppress``: a text was due but a rule stops it; the reason is recorded with the text;
* ``drop``: no text is due at all (no policy, a call kind that does not trigger, nobody to
  text).

Rules run in a fixed order, so the recorded reason is the first that applies: the trigger,
the minimum duration, a mobile recipient, opt-out, block list, excluded contacts,
duplicates, the advertising night and the send window, the per-caller and per-number daily
caps (on the day the text goes out), and finally the text itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.numbers import NumberKind, format_number, parse_number
from ivr_engine.domain.sms_policy import (
    Approval,
    EffectivePolicy,
    OffHours,
    Template,
    TimeWindow,
    Trigger,
    effective,
)
from ivr_engine.domain.sms_text import Message, TextError, ad_frame, build_message

NIGHT_START = time(21, 0)  # no advertising from 21:00 ...
NIGHT_END = time(8, 0)  # ... until 08:00, in the recipient's (tenant's) zone


class Action(StrEnum):
    """What happens to a callback text."""

    SEND = "send"
    HOLD_UNTIL = "hold_until"
    SUPPRESS = "suppress"
    DROP = "drop"


class Reason(StrEnum):
    """Why a text was not sent (or is not due)."""

    DISABLED = "disabled"
    NOT_TRIGGERED = "not_triggered"
    ANONYMOUS = "anonymous"
    NO_TEMPLATE = "no_template"
    TOO_SHORT = "too_short"
    NOT_MOBILE = "not_mobile"
    OPTED_OUT = "opted_out"
    BLOCKED = "blocked"
    EXCLUDED_CONTACT = "excluded_contact"
    DUPLICATE = "duplicate"
    NIGHT_ADVERTISING = "night_advertising"
    OUTSIDE_WINDOW = "outside_window"
    CALLER_CAP = "caller_cap"
    DAILY_CAP = "daily_cap"
    INVALID_TEXT = "invalid_text"


# Call record dispositions and the trigger they are; the rest never get a text.
DISPOSITION_TRIGGERS: Mapping[str, Trigger] = {
    "ANSWERED": Trigger.ANSWERED,
    "NO_ANSWER": Trigger.NO_ANSWER,
    "FAILED": Trigger.NO_ANSWER,  # no target could be reached: the caller was missed
    "BUSY": Trigger.BUSY,
    "ABANDONED": Trigger.ABANDONED,
    "CLOSED": Trigger.CLOSED,
}


@dataclass(frozen=True)
class CallFacts:
    """What the rules need from a call record."""

    call_id: str
    number: str
    caller: str  # normalised digits; '' when withheld
    disposition: str
    started: datetime
    ended: datetime
    duration: float  # seconds from the call's start to its end, ringing included
    outbound: bool = False


@dataclass(frozen=True)
class HistoryFacts:
    """What was texted before: this caller from this number, and this number per day.

    Counts are by the day (tenant zone) a text goes out and cover texts held, queued,
    sending or sent.
    """

    opted_out: bool = False
    excluded: bool = False
    last_texted: datetime | None = None
    caller_counts: Mapping[date, int] = field(default_factory=dict)
    number_counts: Mapping[date, int] = field(default_factory=dict)

    def counted(self, decision: Decision, when: datetime) -> HistoryFacts:
        """These facts after ``decision`` queued a text (unchanged for any other decision)."""
        if decision.action not in (Action.SEND, Action.HOLD_UNTIL) or decision.send_day is None:
            return self
        day = decision.send_day
        return replace(
            self,
            last_texted=max(self.last_texted or when, when),
            caller_counts={**self.caller_counts, day: self.caller_counts.get(day, 0) + 1},
            number_counts={**self.number_counts, day: self.number_counts.get(day, 0) + 1},
        )


@dataclass(frozen=True)
class Decision:
    """The outcome for one call (see the module docstring)."""

    action: Action
    reason: Reason | None = None
    trigger: Trigger | None = None
    send_at: datetime | None = None
    send_day: date | None = None  # the tenant-zone day ``send_at`` falls on
    needs_approval: bool = False
    message: Message | None = None
    advertising: bool = False

    @property
    def queued(self) -> bool:
        """True when a text goes out (now, later, or after approval)."""
        return self.action in (Action.SEND, Action.HOLD_UNTIL)


def _drop(reason: Reason, trigger: Trigger | None = None) -> Decision:
    return Decision(Action.DROP, reason, trigger)


def in_window(window: TimeWindow | None, t: time) -> bool:
    """True when wall time ``t`` is inside the window (no window: always)."""
    return window is None or window.contains(t)


def is_night(t: time) -> bool:
    """True between 21:00 and 08:00 (21:00 is night, 08:00 is not)."""
    return t >= NIGHT_START or t < NIGHT_END


def _allowed(policy: EffectivePolicy, local: datetime) -> bool:
    t = local.timetz().replace(tzinfo=None)
    return (not policy.advertising or not is_night(t)) and in_window(policy.window, t)


def next_allowed(policy: EffectivePolicy, tz: ZoneInfo, start: datetime) -> datetime:
    """The earliest instant at or after ``start`` when the policy lets a text go out."""
    local = start.astimezone(tz)
    if _allowed(policy, local):
        return start
    opens = [NIGHT_END] + ([policy.window.start] if policy.window else [])
    for offset in range(3):
        day = local.date() + timedelta(days=offset)
        for t in sorted(opens):
            candidate = datetime.combine(day, t, tzinfo=tz)
            if candidate > local and _allowed(policy, candidate):
                return candidate.astimezone(start.tzinfo)
    return start  # unreachable for any window that opens at all  # pragma: no cover


def _timing(policy: EffectivePolicy, tz: ZoneInfo, due: datetime) -> tuple[datetime, Reason | None]:
    """When a text due at ``due`` goes out, or the reason it is dropped instead."""
    local = due.astimezone(tz).timetz().replace(tzinfo=None)
    if policy.advertising and is_night(local) and policy.night is OffHours.DROP:
        return due, Reason.NIGHT_ADVERTISING
    if not in_window(policy.window, local) and policy.outside_window is OffHours.DROP:
        return due, Reason.OUTSIDE_WINDOW
    return next_allowed(policy, tz, due), None


_VAR = re.compile(r"\{(business|number|caller|time)\}")


def render(
    policy: EffectivePolicy,
    template: Template,
    *,
    business: str,
    number: str,
    caller: str,
    when: datetime,
) -> Message:
    """The message for one call: variables filled, advertising framed, kind chosen.
    Raises TextError when the result cannot be sent."""
    values = {
        "business": business,
        "number": format_number(number),
        "caller": format_number(caller),
        "time": when.strftime("%m/%d %H:%M"),
    }
    body = _VAR.sub(lambda m: values[m.group(1)], template.text).strip()
    if policy.advertising:
        body = ad_frame(body, business, format_number(policy.optout_number or ""))
    return build_message(
        body, subject=template.subject, image=template.image, default_subject=business
    )


def _recipient_reason(
    policy: EffectivePolicy, config: NumberConfig, call: CallFacts, history: HistoryFacts
) -> Reason | None:
    """The first rule about this caller that stops the text, if any."""
    if call.duration < policy.min_duration:
        return Reason.TOO_SHORT
    if parse_number(call.caller).kind is not NumberKind.MOBILE:
        return Reason.NOT_MOBILE
    if history.opted_out:
        return Reason.OPTED_OUT
    if call.caller in config.block_list:
        return Reason.BLOCKED
    if history.excluded:
        return Reason.EXCLUDED_CONTACT
    if (
        policy.dedupe_days
        and history.last_texted is not None
        and call.ended - history.last_texted < timedelta(days=policy.dedupe_days)
    ):
        return Reason.DUPLICATE
    return None


def decide(config: NumberConfig, call: CallFacts, history: HistoryFacts, now: datetime) -> Decision:
    """The callback text decision for one finished call (see the module docstring)."""
    layered = getattr(config, "callback_sms", None)
    if layered is None:
        return _drop(Reason.DISABLED)
    policy = effective(layered)
    if not policy.enabled:
        return _drop(Reason.DISABLED)
    trigger = Trigger.OUTBOUND if call.outbound else DISPOSITION_TRIGGERS.get(call.disposition)
    if trigger is None or trigger not in policy.triggers:
        return _drop(Reason.NOT_TRIGGERED, trigger)
    if not call.caller:
        return _drop(Reason.ANONYMOUS, trigger)
    template = policy.template(trigger)
    if template is None:
        return Decision(Action.SUPPRESS, Reason.NO_TEMPLATE, trigger)
    base = Decision(Action.SUPPRESS, None, trigger, advertising=policy.advertising)
    reason = _recipient_reason(policy, config, call, history)
    if reason is not None:
        return replace(base, reason=reason)
    tz = ZoneInfo(config.timezone)
    due = max(call.ended + timedelta(seconds=policy.delay), now)
    send_at, reason = _timing(policy, tz, due)
    day = send_at.astimezone(tz).date()
    base = replace(base, send_at=send_at, send_day=day)
    if reason is not None:
        return replace(base, reason=reason)
    if history.caller_counts.get(day, 0) >= policy.caller_daily_cap:
        return replace(base, reason=Reason.CALLER_CAP)
    if history.number_counts.get(day, 0) >= policy.daily_cap:
        return replace(base, reason=Reason.DAILY_CAP)
    business = policy.business or config.tenant_name
    try:
        message = render(
            policy,
            template,
            business=business,
            number=config.number,
            caller=call.caller,
            when=call.started.astimezone(tz),
        )
    except TextError:
        return replace(base, reason=Reason.INVALID_TEXT)
    return replace(
        base,
        action=Action.HOLD_UNTIL if send_at > due else Action.SEND,
        message=message,
        needs_approval=policy.approval is Approval.MANUAL,
    )
