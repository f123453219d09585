"""The callback text decision as tables: every rule, its boundaries, and time zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.sms_policy import effective, parse_policy
from ivr_engine.domain.sms_rules import (
    Action,
    CallFacts,
    HistoryFacts,
    Reason,
    decide,
    next_allowed,
)
from ivr_engine.domain.sms_text import MessageKind, byte_length

SEOUL = ZoneInfo("Asia/Seoul")
NUMBER, CALLER = "05051234567", "01020003000"


def seoul(h: int, m: int = 0, day: int = 20) -> datetime:
    """A Seoul wall time on 2026-11-<day> (a Friday for 20)."""
    return datetime(2026, 11, day, h, m, tzinfo=SEOUL)


def config(tz: str = "Asia/Seoul", **policy: Any) -> NumberConfig:
    data: dict[str, Any] = {
        "templates": {
            "missed": "{business}입니다. 전화 감사합니다.",
            "answered": "통화 감사합니다. {number}",
        }
    }
    data.update(policy)
    return NumberConfig(
        number=NUMBER,
        tenant_id="t1",
        tenant_name="강남피자",
        timezone=tz,
        block_list=frozenset({"01099990000"}),
        callback_sms=parse_policy(data),
    )


def call(
    disposition: str = "NO_ANSWER",
    end: datetime | None = None,
    caller: str = CALLER,
    duration: float = 20.0,
) -> CallFacts:
    end = end or seoul(12)
    return CallFacts(
        call_id="c1",
        number=NUMBER,
        caller=caller,
        disposition=disposition,
        started=end - timedelta(seconds=duration),
        ended=end,
        duration=duration,
    )


def run(
    cfg: NumberConfig | None = None,
    facts: CallFacts | None = None,
    history: HistoryFacts | None = None,
    now: datetime | None = None,
):
    facts = facts or call()
    return decide(cfg or config(), facts, history or HistoryFacts(), now or facts.ended)


@pytest.mark.parametrize(
    ("disposition", "triggers", "action", "reason"),
    [
        ("NO_ANSWER", ["missed"], Action.SEND, None),
        ("BUSY", ["missed"], Action.SEND, None),
        ("ABANDONED", ["missed"], Action.SEND, None),
        ("CLOSED", ["missed"], Action.SEND, None),
        ("FAILED", ["missed"], Action.SEND, None),
        ("ANSWERED", ["missed"], Action.DROP, Reason.NOT_TRIGGERED),
        ("ANSWERED", ["answered"], Action.SEND, None),
        ("BUSY", ["no_answer"], Action.DROP, Reason.NOT_TRIGGERED),
        ("BLOCKED", ["missed", "answered"], Action.DROP, Reason.NOT_TRIGGERED),
        ("PAUSED", ["missed"], Action.DROP, Reason.NOT_TRIGGERED),
        ("UNALLOCATED", ["missed"], Action.DROP, Reason.NOT_TRIGGERED),
    ],
)
def test_triggers(
    disposition: str, triggers: list[str], action: Action, reason: Reason | None
) -> None:
    d = run(config(triggers=triggers), call(disposition))
    assert (d.action, d.reason) == (action, reason)


@pytest.mark.parametrize(
    ("cfg", "facts", "history", "reason"),
    [
        (config(enabled=False), call(), None, Reason.DISABLED),
        (replace(config(), callback_sms=None), call(), None, Reason.DISABLED),
        (config(), call(caller=""), None, Reason.ANONYMOUS),
        (config(templates={"answered": "x"}), call(), None, Reason.NO_TEMPLATE),
        (config(min_duration=5), call(duration=4.0), None, Reason.TOO_SHORT),
        (config(), call(caller="0212345678"), None, Reason.NOT_MOBILE),
        (config(), call(caller="07012345678"), None, Reason.NOT_MOBILE),
        (config(), call(), HistoryFacts(opted_out=True), Reason.OPTED_OUT),
        (config(), call(caller="01099990000"), None, Reason.BLOCKED),
        (config(), call(), HistoryFacts(excluded=True), Reason.EXCLUDED_CONTACT),
        (
            config(dedupe_days=3),
            call(),
            HistoryFacts(last_texted=seoul(12, day=18)),
            Reason.DUPLICATE,
        ),
        (
            config(caller_daily_cap=1),
            call(),
            HistoryFacts(caller_counts={date(2026, 11, 20): 1}),
            Reason.CALLER_CAP,
        ),
        (
            config(daily_cap=150),
            call(),
            HistoryFacts(number_counts={date(2026, 11, 20): 150}),
            Reason.DAILY_CAP,
        ),
        (config(window="13:00-20:00", outside_window="drop"), call(), None, Reason.OUTSIDE_WINDOW),
        (
            config(advertising=True, optout_number="080-123-4567", night="drop"),
            call(end=seoul(21)),
            None,
            Reason.NIGHT_ADVERTISING,
        ),
        (config(business="가" * 40, templates={"missed": "가" * 30}), call(), None, None),
    ],
)
def test_every_rule_that_stops_a_text(
    cfg: NumberConfig, facts: CallFacts, history: HistoryFacts | None, reason: Reason | None
) -> None:
    d = run(cfg, facts, history)
    if reason is None:
        assert d.action is Action.SEND
        return
    assert d.reason is reason
    drops = {Reason.DISABLED, Reason.ANONYMOUS}
    assert d.action is (Action.DROP if reason in drops else Action.SUPPRESS)
    assert d.message is None


def test_min_duration_boundary() -> None:
    assert run(config(min_duration=5), call(duration=5.0)).action is Action.SEND


def test_duplicates_only_within_n_days() -> None:
    cfg = config(dedupe_days=3)
    last = seoul(12, day=17)  # exactly 3 days before the call's end
    assert run(cfg, history=HistoryFacts(last_texted=last)).action is Action.SEND
    assert (
        run(cfg, history=HistoryFacts(last_texted=last + timedelta(seconds=1))).reason
        is Reason.DUPLICATE
    )
    assert run(config(), history=HistoryFacts(last_texted=seoul(11))).action is Action.SEND


def test_caps_below_the_limit_pass() -> None:
    history = HistoryFacts(
        caller_counts={date(2026, 11, 20): 1}, number_counts={date(2026, 11, 20): 199}
    )
    assert run(config(caller_daily_cap=2, daily_cap=200), history=history).action is Action.SEND


def test_caps_count_the_day_the_text_goes_out() -> None:
    """A text held past midnight counts against the next day's cap."""
    history = HistoryFacts(number_counts={date(2026, 11, 20): 500})
    d = run(config(window="09:00-20:00"), call(end=seoul(22)), history)
    assert d.action is Action.HOLD_UNTIL and d.send_at == seoul(9, day=21)
    assert d.send_day == date(2026, 11, 21)


AD = {"advertising": True, "optout_number": "080-123-4567"}


@pytest.mark.parametrize(
    ("end", "policy", "action", "send_at"),
    [
        (seoul(20, 59), AD, Action.SEND, seoul(20, 59)),
        (seoul(21, 0), AD, Action.HOLD_UNTIL, seoul(8, day=21)),
        (seoul(7, 59), AD, Action.HOLD_UNTIL, seoul(8)),
        (seoul(8, 0), AD, Action.SEND, seoul(8)),
        (seoul(23, 30), {}, Action.SEND, seoul(23, 30)),  # not advertising: no night rule
        (seoul(19, 59), {"window": "09:00-20:00"}, Action.SEND, seoul(19, 59)),
        (seoul(20, 0), {"window": "09:00-20:00"}, Action.HOLD_UNTIL, seoul(9, day=21)),
        (seoul(8, 30), {"window": "09:00-20:00"}, Action.HOLD_UNTIL, seoul(9)),
        (seoul(1, 0), {"window": "22:00-02:00"}, Action.SEND, seoul(1)),
        (seoul(3, 0), {"window": "22:00-02:00"}, Action.HOLD_UNTIL, seoul(22)),
        # Both rules: the window opens at 07:00 but advertising waits for 08:00.
        (seoul(6, 0), {**AD, "window": "07:00-22:00"}, Action.HOLD_UNTIL, seoul(8)),
        # Held by the window, then the delay: hangup 19:59:30 + 60 s is past 20:00.
        (
            seoul(19, 59) + timedelta(seconds=30),
            {"window": "09:00-20:00", "delay": 60},
            Action.HOLD_UNTIL,
            seoul(9, day=21),
        ),
    ],
)
def test_timing(end: datetime, policy: dict[str, Any], action: Action, send_at: datetime) -> None:
    d = run(config(**policy), call(end=end))
    assert d.action is action
    assert d.send_at == send_at


def test_delay_after_hangup() -> None:
    d = run(config(delay=90), call(end=seoul(12)))
    assert d.action is Action.SEND and d.send_at == seoul(12, 1) + timedelta(seconds=30)


def test_a_late_record_is_sent_now_not_in_the_past() -> None:
    d = run(config(delay=10), call(end=seoul(12)), now=seoul(12, 5))
    assert d.send_at == seoul(12, 5)


@pytest.mark.parametrize("tz", ["Asia/Seoul", "America/New_York", "Europe/London"])
def test_window_is_read_in_the_tenants_zone(tz: str) -> None:
    zone = ZoneInfo(tz)
    end = datetime(2026, 11, 20, 20, 30, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    d = run(config(tz=tz, window="09:00-20:00"), call(end=end))
    assert d.action is Action.HOLD_UNTIL
    assert d.send_at == datetime(2026, 11, 21, 9, 0, tzinfo=zone)
    assert d.send_day == date(2026, 11, 21)


def test_night_across_a_dst_change() -> None:
    """New York leaves DST on 2026-11-01: 21:00 local is still night on both sides."""
    ny = ZoneInfo("America/New_York")
    end = datetime(2026, 10, 31, 21, 0, tzinfo=ny)
    d = run(config(tz="America/New_York", **AD), call(end=end))
    assert d.send_at == datetime(2026, 11, 1, 8, 0, tzinfo=ny)
    utc = ZoneInfo("UTC")
    assert d.send_at.astimezone(utc) - end.astimezone(utc) == timedelta(hours=12)


def test_approval_keeps_the_text_for_a_person() -> None:
    d = run(config(approval="manual"))
    assert d.action is Action.SEND and d.needs_approval and d.message is not None


def test_message_content_and_variables() -> None:
    d = run(
        config(templates={"missed": "{business} {number} {caller} {time}"}),
        call(end=seoul(12, 30), duration=90),
    )
    assert d.message is not None
    assert d.message.body == "강남피자 0505-123-4567 010-2000-3000 11/20 12:28"
    assert d.message.kind is MessageKind.SMS


def test_advertising_is_framed_by_the_engine() -> None:
    d = run(config(templates={"missed": "오늘 2판 주문 시 콜라 무료!"}, **AD))
    assert d.message is not None and d.advertising
    assert d.message.body == "(광고)강남피자\n오늘 2판 주문 시 콜라 무료!\n무료거부 080-123-4567"
    # A body that starts with the business name keeps it.
    d = run(config(**AD))
    assert d.message is not None
    assert d.message.body == (
        "(광고)강남피자\n강남피자입니다. 전화 감사합니다.\n무료거부 080-123-4567"
    )


def test_long_text_becomes_lms_with_the_business_as_subject() -> None:
    d = run(config(templates={"missed": "가" * 46}))
    assert d.message is not None and d.message.kind is MessageKind.LMS
    assert d.message.subject == "강남피자"
    exact = run(config(templates={"missed": "가" * 45}))
    assert exact.message is not None and exact.message.kind is MessageKind.SMS
    assert byte_length(exact.message.body) == 90


def test_image_template_is_mms() -> None:
    d = run(config(templates={"missed": {"text": "메뉴", "image": "menu.jpg"}}))
    assert d.message is not None and d.message.kind is MessageKind.MMS
    assert d.message.image == "menu.jpg"


def test_history_counts_a_batchs_own_texts() -> None:
    cfg = config(caller_daily_cap=1)
    first = run(cfg)
    after = HistoryFacts().counted(first, first.send_at or seoul(12))
    assert run(cfg, history=after).reason is Reason.CALLER_CAP
    suppressed = run(cfg, history=after)
    assert after.counted(suppressed, seoul(12)) == after


def test_next_allowed_for_approval_at_night() -> None:
    policy = effective(parse_policy({**AD, "templates": {"missed": "x"}}))
    assert next_allowed(policy, SEOUL, seoul(23)) == seoul(8, day=21)
    assert next_allowed(policy, SEOUL, seoul(10)) == seoul(10)
