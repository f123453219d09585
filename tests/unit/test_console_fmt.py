"""The console's small pure helpers: minutes as people read them, the user's own member."""

from __future__ import annotations

from ivr_engine.console.fmt import minutes_label
from ivr_engine.console.pages_outbound import own_member
from ivr_engine.domain.members import Member


def test_minutes_read_in_korean_and_english() -> None:
    assert minutes_label(600) == "10분"
    assert minutes_label(75) == "1분 15초"
    assert minutes_label(2) == "2초"
    assert minutes_label(0) == "0분"
    assert minutes_label(-90, "en") == "-1 min 30 s"
    assert minutes_label(120, "en") == "2 min"


def test_the_users_own_member_by_mobile_then_by_name() -> None:
    kim, park = Member("김민수", "01077778888"), Member("박지성", "01022223333")
    members = (kim, park)
    assert own_member(members, "010-2222-3333@pizza.kr", "김민수") == park
    assert own_member(members, "owner@pizza.kr", " 김민수 ") == kim
    assert own_member(members, "owner@pizza.kr", "") is None
    assert own_member(members, "owner@pizza.kr", "이영희") is None
