"""AMI event selection as ``main/manager.c`` does it: eventmask by class and ``Filter``.

- eventmask (``strings_to_mask``): digits = a bit mask, off/false/no = none, on/true/yes =
  all, else a comma list of class names; an empty value leaves the mask unchanged.
- ``Filter`` (``action_filter`` / ``manager_add_filter``, ``Operation: Add`` only): a legacy
  filter is a POSIX extended regex searched anywhere in the whole event text
  (``Event: X\\r\\nPrivilege: ...``), ``!`` first makes it an exclude filter; the advanced
  form adds ``MatchCriteria: action(include|exclude),name(X),header(H),method(regex|exact|
  starts_with|ends_with|contains|none)``. ``should_send_event``: no filters = all; includes
  only = any matches; excludes only = none matches; both = an include and no exclude.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# main/manager.c perms[]: the class names and their bits.
CLASSES = [
    *("system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf"),
    *("reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security"),
    "message",
]
ALL = frozenset(CLASSES)
POSIX_CLASSES = {
    "[:space:]": r"\s",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:punct:]": r"!-/:-@\[-`{-~",
}
METHODS = {"regex", "exact", "starts_with", "ends_with", "contains", "none"}
FORMAT_ERROR = "Filter was formatted incorrectly.  Check the syntax of the filter given."
COMPILE_ERROR = "Filter did not compile.  Check the syntax of the filter given."


class FilterError(ValueError):
    """A filter Asterisk would refuse; the message is its reply text."""


def parse_mask(value: str, current: frozenset[str]) -> frozenset[str]:
    """The classes an eventmask value selects (``current`` when the value is empty)."""
    text = value.strip()
    if not text:
        return current
    if text.isdigit():
        bits = int(text)
        return frozenset(c for i, c in enumerate(CLASSES) if bits & (1 << i))
    if text.lower() in ("off", "false", "no", "n", "f", "0"):
        return frozenset()
    if text.lower() in ("on", "true", "yes", "y", "t", "1"):
        return ALL
    names = {n.strip().lower() for n in text.split(",")}
    return ALL if "all" in names else frozenset(names & ALL)


def posix_to_python(pattern: str) -> re.Pattern[str]:
    """Compile a POSIX extended regex (with its bracket classes) for Python."""
    for posix, python in POSIX_CLASSES.items():
        pattern = pattern.replace(posix, python)
    try:
        return re.compile(pattern)
    except re.error:
        raise FilterError(COMPILE_ERROR) from None


@dataclass
class EventFilter:
    """One include or exclude filter entry."""

    exclude: bool = False
    name: str | None = None
    header: str | None = None
    method: str = "regex"
    pattern: str = ""
    regex: re.Pattern[str] | None = None

    def matches(self, name: str, text: str) -> bool:
        """``filter_cmp_fn``: the name first, then the data (whole text or header values)."""
        if self.name is not None and name != self.name:
            return False
        if self.header is None:
            return self._match(text)
        for line in text.split("\r\n"):
            if line.startswith(self.header):
                value = line[len(self.header) :].lstrip(" \t")
                if value and self._match(value):
                    return True
        return False

    def _match(self, data: str) -> bool:
        if self.method == "regex":
            return self.regex is not None and self.regex.search(data) is not None
        return {
            "starts_with": data.startswith,
            "ends_with": data.endswith,
            "contains": lambda p: p in data,
            "exact": lambda p: data == p,
        }.get(self.method, lambda _p: True)(self.pattern)


def parse_filter(criteria: str, pattern: str) -> EventFilter:
    """``manager_add_filter``: an entry from ``MatchCriteria`` and ``Filter``."""
    entry = EventFilter()
    if pattern.startswith("!"):
        entry.exclude, pattern = True, pattern[1:]
    if not criteria:
        if not pattern:
            raise FilterError(FORMAT_ERROR)
    else:
        entry.method = "none"
        for option in (o for o in re.split(r"[ ,)]+", criteria) if o):
            key, _, value = option.partition("(")
            value = value.strip()
            if key == "action" and value in ("include", "exclude"):
                entry.exclude = value == "exclude"
            elif key == "name" and value:
                entry.name = value
            elif key == "header" and value:
                entry.header = value if value.endswith(":") else value + ":"
            elif key == "method" and value in METHODS:
                entry.method = value
            else:
                raise FilterError(FORMAT_ERROR)
        if bool(pattern) == (entry.method == "none"):
            raise FilterError(FORMAT_ERROR)
        if entry.method == "none" and entry.name is None and entry.header is None:
            raise FilterError(FORMAT_ERROR)
    entry.pattern = pattern
    if pattern and entry.method == "regex":
        entry.regex = posix_to_python(pattern)
    return entry


def should_send(filters: list[EventFilter], name: str, text: str) -> bool:
    """``should_send_event`` over a session's filters."""
    includes = [f for f in filters if not f.exclude]
    excludes = [f for f in filters if f.exclude]
    if includes and not any(f.matches(name, text) for f in includes):
        return False
    return not any(f.matches(name, text) for f in excludes)
