"""Queue events in Asterisk's queue_log format, so existing queue reporting tools
(QueueMetrics and the like) can read them. Pure formatting and parsing.

A line is ``epoch|callid|queuename|agent|event|data...``; a ``|`` always follows the event
(an event with no data ends in ``|``). Events and their data fields:

================  ===============================================
ENTERQUEUE        url, callerid, position
CONNECT           holdtime, peer uniqueid, ringtime
COMPLETECALLER    holdtime, talktime, origposition
COMPLETEAGENT     holdtime, talktime, origposition
ABANDON           position, origposition, waittime
EXITWITHTIMEOUT   position, origposition, waittime
EXITEMPTY         position, origposition, waittime
EXITWITHKEY       key, position, origposition, waittime
RINGNOANSWER      ring time in milliseconds
PAUSE / UNPAUSE   reason
ADDMEMBER         (none)
REMOVEMEMBER      (none)
================  ===============================================

Lines not tied to a call (PAUSE, ADDMEMBER ...) use ``NONE`` as callid (and queue), as
Asterisk does. Agents are written as their interface (``PJSIP/kim``) or id; ``NONE`` when
none is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

NONE = "NONE"


class QueueEvent(StrEnum):
    """The queue_log events the engine writes."""

    ENTERQUEUE = "ENTERQUEUE"
    CONNECT = "CONNECT"
    COMPLETECALLER = "COMPLETECALLER"
    COMPLETEAGENT = "COMPLETEAGENT"
    ABANDON = "ABANDON"
    EXITWITHTIMEOUT = "EXITWITHTIMEOUT"
    EXITEMPTY = "EXITEMPTY"
    EXITWITHKEY = "EXITWITHKEY"
    RINGNOANSWER = "RINGNOANSWER"
    PAUSE = "PAUSE"
    UNPAUSE = "UNPAUSE"
    ADDMEMBER = "ADDMEMBER"
    REMOVEMEMBER = "REMOVEMEMBER"


_ARITY = {
    QueueEvent.ENTERQUEUE: 3,
    QueueEvent.CONNECT: 3,
    QueueEvent.COMPLETECALLER: 3,
    QueueEvent.COMPLETEAGENT: 3,
    QueueEvent.ABANDON: 3,
    QueueEvent.EXITWITHTIMEOUT: 3,
    QueueEvent.EXITEMPTY: 3,
    QueueEvent.EXITWITHKEY: 4,
    QueueEvent.RINGNOANSWER: 1,
    QueueEvent.PAUSE: 1,
    QueueEvent.UNPAUSE: 1,
    QueueEvent.ADDMEMBER: 0,
    QueueEvent.REMOVEMEMBER: 0,
}


@dataclass(frozen=True)
class QueueLogEntry:
    """One queue_log line."""

    time: datetime
    callid: str
    queue: str
    agent: str
    event: QueueEvent
    data: tuple[str, ...] = ()

    def line(self) -> str:
        """The entry as a queue_log line."""
        return format_line(
            int(self.time.timestamp()), self.callid, self.queue, self.agent, self.event, self.data
        )


def _clean(value: object) -> str:
    """A field without the separator or line breaks (which would break the format)."""
    return str(value).replace("|", "_").replace("\n", " ").replace("\r", " ")


def format_line(
    epoch: int,
    callid: str,
    queue: str,
    agent: str,
    event: QueueEvent | str,
    data: Sequence[object] = (),
) -> str:
    """``epoch|callid|queuename|agent|event|data...`` (``|`` always after the event)."""
    head = [
        str(int(epoch)),
        _clean(callid or NONE),
        _clean(queue or NONE),
        _clean(agent or NONE),
        _clean(str(event)),
    ]
    return "|".join(head) + "|" + "|".join(_clean(d) for d in data)


def data_fields(event: str) -> int | None:
    """How many data fields an event name carries (None for an event this module does not
    write)."""
    try:
        return _ARITY[QueueEvent(event)]
    except ValueError:
        return None


def event_data(event: QueueEvent, *fields: object) -> tuple[str, ...]:
    """The data fields of an event, checked against the event's field count."""
    expected = _ARITY[event]
    if len(fields) != expected:
        raise ValueError(f"{event.value} takes {expected} data fields, got {len(fields)}")
    return tuple(_clean(f) for f in fields)


@dataclass(frozen=True)
class ParsedLine:
    """A queue_log line read back."""

    epoch: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_line(line: str) -> ParsedLine:
    """Read one queue_log line (ValueError when it is not one)."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 6 or not parts[0].isdigit():
        raise ValueError(f"not a queue_log line: {line!r}")
    data = tuple(parts[5:])
    if data == ("",):
        data = ()
    return ParsedLine(int(parts[0]), parts[1], parts[2], parts[3], parts[4], data)


def seconds(value: float) -> str:
    """A duration field: whole seconds, as Asterisk writes them."""
    return str(max(0, int(value)))
