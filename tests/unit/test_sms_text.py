"""Text sizes as the carriers count them (CP949 bytes), message kinds, the advertising frame
and JPEG checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr_engine.domain.sms_text import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    MessageKind,
    TextError,
    ad_frame,
    build_message,
    byte_length,
    check_image,
    choose_kind,
    is_ad_framed,
    jpeg_problem,
    truncate_bytes,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("", 0),
        ("abc", 3),
        ("가", 2),
        ("한글", 4),
        ("강남피자 010-1234-5678", 8 + 1 + 13),
        ("(광고)", 2 + 4),
        ("똠방각하", 8),
        ("①", 2),
        ("\n", 1),
    ],
)
def test_byte_length_counts_hangul_as_two(text: str, size: int) -> None:
    assert byte_length(text) == size


def test_characters_cp949_lacks_are_refused() -> None:
    with pytest.raises(TextError, match="U\\+1F355"):
        byte_length("피자 🍕")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("가" * 45, MessageKind.SMS),  # exactly 90 bytes
        ("가" * 44 + "ab", MessageKind.SMS),  # 90 bytes, mixed
        ("가" * 45 + "a", MessageKind.LMS),  # 91 bytes
        ("a" * 90, MessageKind.SMS),
        ("a" * 91, MessageKind.LMS),
        ("가" * 1000, MessageKind.LMS),  # exactly 2,000 bytes
    ],
)
def test_kind_boundaries(text: str, kind: MessageKind) -> None:
    assert choose_kind(text) is kind


def test_over_2000_bytes_is_refused() -> None:
    with pytest.raises(TextError, match="2001 bytes"):
        choose_kind("가" * 1000 + "a")


def test_an_image_makes_an_mms_whatever_the_length() -> None:
    assert choose_kind("짧음", image=True) is MessageKind.MMS


def test_lms_gets_a_subject_cut_to_40_bytes() -> None:
    msg = build_message("가" * 46, default_subject="가" * 30)
    assert msg.kind is MessageKind.LMS
    assert msg.subject == "가" * 20 and byte_length(msg.subject) == 40
    sms = build_message("안녕", subject="제목")
    assert sms.kind is MessageKind.SMS and sms.subject is None


def test_truncate_never_splits_a_syllable() -> None:
    assert truncate_bytes("가나다", 5) == "가나"
    assert truncate_bytes("a가", 2) == "a"


def test_ad_frame_is_added_and_never_doubled() -> None:
    framed = ad_frame("오늘 할인!", "강남피자", "080-123-4567")
    assert framed == "(광고)강남피자\n오늘 할인!\n무료거부 080-123-4567"
    assert is_ad_framed(framed, "강남피자", "080-123-4567")
    # A template that already carries (part of) the frame gets it once, in the right form.
    again = ad_frame(
        "(광고) 강남피자 오늘 할인!\n무료 거부 080-999-0000", "강남피자", "080-123-4567"
    )
    assert again == framed
    assert ad_frame(framed, "강남피자", "080-123-4567") == framed


def test_unframed_text_is_detected() -> None:
    assert not is_ad_framed("오늘 할인!", "강남피자", "080-123-4567")
    assert not is_ad_framed("(광고)강남피자\n오늘 할인!", "강남피자", "080-123-4567")


@given(st.text(alphabet=st.sampled_from("가나다abc 123!\n"), max_size=80))
def test_frame_is_idempotent(body: str) -> None:
    once = ad_frame(body, "피자", "080-123-4567")
    assert ad_frame(once, "피자", "080-123-4567") == once
    assert is_ad_framed(once, "피자", "080-123-4567")


def jpeg(payload: bytes = b"\x00" * 16) -> bytes:
    """A minimal well-formed JPEG stream: SOI, APP0, SOF0, SOS, data, EOI."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00"
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof0 + sos + payload + b"\xff\xd9"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (jpeg(), None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "not a JPEG"),
        (b"GIF89a" + b"\x00" * 20, "not a JPEG"),
        (jpeg()[:-2], "end-of-image"),
        (b"\xff\xd8\xff\xe0\x00\x04ab", "ends before"),
        (b"\xff\xd8" + b"\xff\xda\x00\x02" + b"\x00\xff\xd9", "no frame header"),
    ],
)
def test_jpeg_checks(data: bytes, problem: str | None) -> None:
    found = jpeg_problem(data)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_image_size_limit() -> None:
    big = jpeg(b"\x00" * 2000)
    check_image(big, max_bytes=len(big))
    with pytest.raises(TextError, match="at most"):
        check_image(big, max_bytes=len(big) - 1)


def test_limits_are_the_carriers() -> None:
    assert (SMS_MAX_BYTES, LMS_MAX_BYTES) == (90, 2000)
