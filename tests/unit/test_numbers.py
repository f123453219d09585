"""Korean number normalisation, kinds, formatting and masking, as tables."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr_engine.domain.numbers import (
    NumberKind,
    format_number,
    mask,
    normalize,
    parse_number,
    try_normalize,
)
from ivr_engine.errors import ValidationError


@pytest.mark.parametrize(
    "raw",
    [
        "+82 10-9999-0000",
        "010 9999 0000",
        "01099990000",
        "+821099990000",
        "82-10-9999-0000",
        "010-9999-0000",
        "  010.9999.0000 ",
        "(010) 9999-0000",
        "0082-10-9999-0000",
        "+82 (0)10 9999 0000",
        "+82-010-9999-0000",
    ],
)
def test_every_written_form_of_a_mobile_is_one_number(raw: str) -> None:
    number = parse_number(raw)
    assert number.digits == "01099990000"
    assert number.kind is NumberKind.MOBILE
    assert number.raw == raw
    assert normalize(raw) == "01099990000"


@pytest.mark.parametrize(
    ("raw", "digits", "kind", "formatted"),
    [
        ("0505-123-4567", "05051234567", NumberKind.VIRTUAL, "0505-123-4567"),
        ("0504-222-3333", "05042223333", NumberKind.VIRTUAL, "0504-222-3333"),
        ("0507-1234-5678", "050712345678", NumberKind.VIRTUAL, "0507-1234-5678"),
        ("070-1234-5678", "07012345678", NumberKind.INTERNET, "070-1234-5678"),
        ("02-333-4444", "023334444", NumberKind.SEOUL, "02-333-4444"),
        ("02-3333-4444", "0233334444", NumberKind.SEOUL, "02-3333-4444"),
        ("031-123-4567", "0311234567", NumberKind.AREA, "031-123-4567"),
        ("064-7123-4567", "06471234567", NumberKind.AREA, "064-7123-4567"),
        ("1588-1234", "15881234", NumberKind.REPRESENTATIVE, "1588-1234"),
        ("1644 0000", "16440000", NumberKind.REPRESENTATIVE, "1644-0000"),
        ("1800-5555", "18005555", NumberKind.REPRESENTATIVE, "1800-5555"),
        ("+82 1588-1234", "15881234", NumberKind.REPRESENTATIVE, "1588-1234"),
        ("080-123-4567", "0801234567", NumberKind.FREEPHONE, "080-123-4567"),
        ("011-123-4567", "0111234567", NumberKind.MOBILE, "011-123-4567"),
        ("019-1234-5678", "01912345678", NumberKind.MOBILE, "019-1234-5678"),
        ("114", "114", NumberKind.OTHER, "114"),
        ("+1 212 555 1234", "+12125551234", NumberKind.OTHER, "+1 212-555-1234"),
    ],
)
def test_kinds_and_formatting(raw: str, digits: str, kind: NumberKind, formatted: str) -> None:
    number = parse_number(raw)
    assert (number.digits, number.kind, number.formatted) == (digits, kind, formatted)
    assert format_number(digits) == formatted


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        "unknown",
        "restricted",
        "private",
        "withheld",
        "<unknown>",
        "<anonymous>",
        "Unavailable",
        '"Anonymous"',
    ],
)
def test_withheld_caller_ids_are_anonymous(raw: str) -> None:
    number = parse_number(raw)
    assert number.kind is NumberKind.ANONYMOUS
    assert number.digits == ""
    assert number.anonymous
    assert number.masked == "anonymous"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("abc", "letters"),
        ("010-1234-abcd", "letters"),
        ("0101234567", "010 number has 11 digits"),
        ("010-1234-56789", "010 number has 11 digits"),
        ("0505-12-345", "050x number has 11 or 12 digits"),
        ("02-12-345", "02 number has 9 or 10 digits"),
        ("12", "2 digits"),
        ("#123", "may contain only"),
        ("010*1234*5678", "may contain only"),
        ("1234567890123456", "16 digits"),
        ("-- --", "no digits"),
    ],
)
def test_malformed_input_is_refused_with_a_reason(raw: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_number(raw)
    assert fragment in str(info.value)
    assert repr(raw.strip()) in str(info.value)
    assert try_normalize(raw) is None


def test_non_text_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_number(1012345678)  # type: ignore[arg-type]
    assert try_normalize(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("010-9999-0000", "010-99**-00**"),
        ("+82 10-9999-0000", "010-99**-00**"),
        ("01099990000", "010-99**-00**"),
        ("05051234567", "0505-12*-45**"),
        ("0505-1234-5678", "0505-12**-56**"),
        ("02-333-4444", "02-33*-44**"),
        ("1588-1234", "1588-12**"),
        ("anonymous", "anonymous"),
        ("not a number", "not*********"),
        ("010-12", "010***"),
    ],
)
def test_mask(raw: str, masked: str) -> None:
    assert mask(raw) == masked


def test_format_number_leaves_unparseable_text_alone() -> None:
    assert format_number("hello") == "hello"


@settings(max_examples=60, deadline=None)
@given(
    st.from_regex(r"010[0-9]{8}", fullmatch=True),
    st.sampled_from(
        ["{a}-{b}-{c}", "{a} {b} {c}", "+82 {a1}-{b}-{c}", "82{a1}{b}{c}", "({a}) {b}.{c}"]
    ),
)
def test_any_layout_of_a_mobile_normalises_back(digits: str, layout: str) -> None:
    a, b, c = digits[:3], digits[3:7], digits[7:]
    text = layout.format(a=a, a1=a[1:], b=b, c=c)
    assert normalize(text) == digits
    assert normalize(parse_number(text).formatted) == digits
    masked = mask(text)
    assert masked.startswith(f"{a}-{b[:2]}**-{c[:2]}**")
