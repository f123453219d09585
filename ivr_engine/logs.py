"""Logging set-up. Every log line passes through a filter that masks phone numbers."""

from __future__ import annotations

import logging
import re

# Korean phone numbers as they appear in text: 010-1234-5678, 01012345678, +82 10 1234 5678,
# 0505-123-4567, 02-333-4444. The masked form keeps the prefix and hides the 3rd-4th digits
# of the middle and last groups: 010-12**-56**.
_PHONE = re.compile(r"(?<![\w.])(\+?82[- ]?|0)(\d{1,4})[- ]?(\d{3,4})[- ]?(\d{4})(?![\w])")


def mask_phone_text(text: str) -> str:
    """Mask every phone number found in free text (for log lines)."""

    def repl(m: re.Match[str]) -> str:
        prefix = m.group(1)
        if not prefix.startswith("0"):
            prefix = "0"
        mid, last = m.group(3), m.group(4)
        return f"{prefix}{m.group(2)}-{mid[:-2]}**-{last[:2]}**"

    return _PHONE.sub(repl, text)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message so no full phone number reaches a log sink."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the formatted message in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = mask_phone_text(message)
        record.args = None
        return True


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once: masked, timestamped, one line per record."""
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
