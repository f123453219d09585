"""Small pure formatters of the console: times in a zone with their offset, rates, seconds.

local_time(datetime(2026, 11, 20, 3, 0, tzinfo=UTC), ZoneInfo("Asia/Seoul"))
# '2026-11-20 12:00 +09:00'
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_time(value: datetime | None, zone: ZoneInfo, seconds: bool = False) -> str:
    """``value`` in ``zone`` as ``YYYY-MM-DD HH:MM +HH:MM`` ('' for None)."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + offset


def percent(part: int, whole: int) -> str:
    """``part / whole`` as a whole percentage ('–' when there is nothing to divide)."""
    if whole <= 0:
        return "–"
    return f"{round(100 * part / whole)}%"


def seconds_text(value: float | None) -> str:
    """Seconds with one decimal ('' for None)."""
    return "" if value is None else f"{value:.1f}"


def minutes_label(seconds: int, lang: str = "ko") -> str:
    """An allowance's seconds as people read it: ``12분 30초`` / ``12 min 30 s``."""
    sign = "-" if seconds < 0 else ""
    whole, rest = divmod(abs(seconds), 60)
    if lang == "en":
        parts = ([f"{whole} min"] if whole or not rest else []) + ([f"{rest} s"] if rest else [])
    else:
        parts = ([f"{whole}분"] if whole or not rest else []) + ([f"{rest}초"] if rest else [])
    return sign + " ".join(parts)
