"""Days off: a number's own holidays (one-off and yearly) and national calendars.

National calendars come from the ``holidays`` package (Korea: lunar New Year, Chuseok,
substitute holidays, election days). They are computed once per (country, year) and kept;
names are in English so that reasons read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType

import holidays as holidays_pkg

from ivr_engine.domain.model import Holiday

NATIONAL_LANGUAGE = "en_US"
_EMPTY: Mapping[date, str] = MappingProxyType({})


@lru_cache(maxsize=1)
def supported_countries() -> frozenset[str]:
    """ISO codes of every country whose national calendar is known."""
    return frozenset(holidays_pkg.list_supported_countries())


def _calendar_class(country: str) -> type | None:
    """The holidays-package class for a country code, or None when unknown."""
    if country not in supported_countries():
        return None
    entity = holidays_pkg.country_holidays(country, years=())
    return type(entity)


@lru_cache(maxsize=256)
def national_holidays(country: str, year: int) -> Mapping[date, str]:
    """National holidays of one country and year, by date (read-only, cached)."""
    if country not in supported_countries():
        return _EMPTY
    cls = _calendar_class(country)
    language: str | None = NATIONAL_LANGUAGE
    if cls is not None and language not in getattr(cls, "supported_languages", ()):
        language = None
    found = holidays_pkg.country_holidays(country, years=year, language=language)
    return MappingProxyType(dict(found))


def national_holiday(country: str | None, day: date) -> str | None:
    """The name of the national holiday on ``day``, if ``country`` has one then."""
    if not country:
        return None
    return national_holidays(country, day.year).get(day)


@lru_cache(maxsize=64)
def calendar_known(country: str, year: int) -> bool:
    """True when the national calendar of ``country`` is known for ``year``.

    The package covers each country for a range of years (lunar dates need tables); outside
    it the calendar is silently empty, so a number would be open on lunar New Year.
    """
    cls = _calendar_class(country)
    if cls is None:
        return False
    start = getattr(cls, "start_year", None)
    end = getattr(cls, "end_year", None)
    if (start is not None and year < start) or (end is not None and year > end):
        return False
    return len(national_holidays(country, year)) > 0


_INDEXED: dict[int, tuple[tuple[Holiday, ...], Mapping[tuple[int | None, int, int], Holiday]]] = {}
_INDEXED_MAX = 262144


def _indexed(holidays: tuple[Holiday, ...]) -> Mapping[tuple[int | None, int, int], Holiday]:
    """The holiday index, cached by identity of the tuple (no hashing per call)."""
    entry = _INDEXED.get(id(holidays))
    if entry is not None and entry[0] is holidays:
        return entry[1]
    if len(_INDEXED) >= _INDEXED_MAX:
        _INDEXED.clear()
    index = _holiday_index(holidays)
    _INDEXED[id(holidays)] = (holidays, index)
    return index


@lru_cache(maxsize=65536)
def _holiday_index(holidays: tuple[Holiday, ...]) -> Mapping[tuple[int | None, int, int], Holiday]:
    """Own holidays keyed by (year or None, month, day); the first declared wins."""
    index: dict[tuple[int | None, int, int], Holiday] = {}
    for holiday in holidays:
        index.setdefault((holiday.year, holiday.month, holiday.day), holiday)
    return MappingProxyType(index)


def own_holiday(holidays: tuple[Holiday, ...], day: date) -> Holiday | None:
    """The number's own holiday on ``day``: a one-off date first, then a yearly one."""
    if not holidays:
        return None
    index = _indexed(holidays)
    return index.get((day.year, day.month, day.day)) or index.get((None, day.month, day.day))
