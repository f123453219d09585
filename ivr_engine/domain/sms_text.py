"""Text messages as the Korean carriers count them.

Lengths are bytes in EUC-KR / CP949: a Hangul syllable is 2 bytes, ASCII is 1. A text of at
most 90 bytes goes as an SMS; a longer one (up to 2,000 bytes) as an LMS with a subject; an
MMS carries one JPEG image (1 MB at most by default). A character CP949 cannot encode (an
emoji, most non-Korean scripts) is refused: carriers would show it as ``?``.

Advertising texts are framed by the engine, whatever the template says: they begin with
``(광고)`` and the business name and end with a free opt-out line ``무료거부 080-...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ivr_engine.errors import ValidationError

ENCODING = "cp949"
SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40
MMS_MAX_IMAGE_BYTES = 1024 * 1024  # default image limit (1 MB)
AD_PREFIX = "(광고)"
OPTOUT_PREFIX = "무료거부"

_OPTOUT_LINE = re.compile(r"\n?[ \t]*무료\s*거부[^\n]*\s*$")
_AD_HEAD = re.compile(r"^\s*\(\s*광고\s*\)\s*")


class MessageKind(StrEnum):
    """How a text travels: short, long (with a subject) or with an image."""

    SMS = "sms"
    LMS = "lms"
    MMS = "mms"


class TextError(ValidationError):
    """A text that cannot be sent as written (too long, characters CP949 lacks)."""

    code = "invalid-text"


def byte_length(text: str) -> int:
    """The text's length in CP949 bytes; raises TextError naming a character it lacks."""
    try:
        return len(text.encode(ENCODING))
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise TextError(
            f"{bad!r} (U+{ord(bad[0]):04X}) cannot be sent in a text message "
            "(not in the Korean character set CP949)"
        ) from None


def truncate_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` CP949 bytes (never half a syllable)."""
    out, used = [], 0
    for ch in text:
        size = byte_length(ch)
        if used + size > limit:
            break
        out.append(ch)
        used += size
    return "".join(out)


def choose_kind(body: str, *, image: bool = False) -> MessageKind:
    """MMS with an image; SMS up to 90 bytes; LMS up to 2,000 bytes; else TextError."""
    size = byte_length(body)
    if size > LMS_MAX_BYTES:
        raise TextError(
            f"the text is {size} bytes; a text message holds at most "
            f"{LMS_MAX_BYTES} bytes (a Hangul syllable counts 2)"
        )
    if image:
        return MessageKind.MMS
    return MessageKind.SMS if size <= SMS_MAX_BYTES else MessageKind.LMS


def strip_ad_frame(body: str, business: str) -> str:
    """The body without an advertising head or opt-out line a template may already carry."""
    text, heads = _AD_HEAD.subn("", body, count=1)
    if heads and business and text.startswith(business):
        text = text[len(business) :]
    text = _OPTOUT_LINE.sub("", text)
    return text.strip()


def ad_frame(body: str, business: str, optout_number: str) -> str:
    """The body framed as the law requires: ``(광고)<business>`` first, the free opt-out line
    last. Any frame the body already had is replaced, so it is never doubled."""
    inner = strip_ad_frame(body, business)
    head = f"{AD_PREFIX}{business}"
    return (
        f"{head}\n{inner}\n{OPTOUT_PREFIX} {optout_number}"
        if inner
        else (f"{head}\n{OPTOUT_PREFIX} {optout_number}")
    )


def is_ad_framed(text: str, business: str, optout_number: str) -> bool:
    """True when the text starts with ``(광고)<business>`` and ends with the opt-out line."""
    return text.startswith(f"{AD_PREFIX}{business}") and text.rstrip().endswith(
        f"{OPTOUT_PREFIX} {optout_number}"
    )


@dataclass(frozen=True)
class Message:
    """A text ready to send: its kind, body, subject (LMS/MMS) and image path (MMS)."""

    kind: MessageKind
    body: str
    subject: str | None = None
    image: str | None = None

    @property
    def size(self) -> int:
        """The body's length in CP949 bytes."""
        return byte_length(self.body)


def build_message(
    body: str, *, subject: str | None = None, image: str | None = None, default_subject: str = ""
) -> Message:
    """A message whose kind follows from the body's size and the image; LMS and MMS get a
    subject (``default_subject`` when none is given), cut to 40 bytes."""
    kind = choose_kind(body, image=image is not None)
    if kind is MessageKind.SMS:
        return Message(kind, body)
    title = (subject or default_subject or "").strip()
    if title:
        byte_length(title)
        title = truncate_bytes(title, SUBJECT_MAX_BYTES)
    return Message(kind, body, title or None, image)


# -- JPEG ------------------------------------------------------------------------------------

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def jpeg_problem(data: bytes) -> str | None:
    """Why ``data`` is not a JPEG image (None when it is one): the start-of-image marker,
    a frame header before the scan, and the end-of-image marker are all required."""
    if data[:3] != b"\xff\xd8\xff":
        return "not a JPEG image (no JPEG start marker); only JPEG images can be sent"
    pos, frame = 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return f"damaged JPEG: expected a marker at byte {pos}"
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        frame = frame or marker in _SOF
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    else:
        return "damaged JPEG: it ends before the image data"
    if not frame:
        return "damaged JPEG: no frame header before the image data"
    if data.rstrip(b"\x00")[-2:] != b"\xff\xd9":
        return "damaged JPEG: no end-of-image marker (the file is cut short)"
    return None


def check_image(data: bytes, max_bytes: int = MMS_MAX_IMAGE_BYTES) -> None:
    """Raise TextError unless ``data`` is a JPEG image of at most ``max_bytes``."""
    if len(data) > max_bytes:
        raise TextError(
            f"the image is {len(data):,} bytes; at most {max_bytes:,} bytes can be sent"
        )
    problem = jpeg_problem(data)
    if problem:
        raise TextError(problem)
