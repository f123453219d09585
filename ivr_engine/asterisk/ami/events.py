"""Which AMI events a session asks Asterisk for: the eventmask and the ``Filter`` pattern.

Asterisk queues every manager event of every call (Newchannel, Newstate, DialBegin, Bridge*,
HangupRequest, Hangup, ... about twenty per forwarded call) to every session whose read
permission and eventmask cover the event's class; the engine uses a handful. Two narrowings,
both applied by Asterisk before anything is written to the socket (``main/manager.c``
``process_events``):

- the eventmask (``Login`` ``Events:`` / the ``Events`` action): a list of class names;
- an include ``Filter`` (needs write permission ``system``): a POSIX regular expression over
  the whole event text, which starts ``Event: <Name>\\r\\n``. One anchored alternation covers
  every name and works on every Asterisk with the action (the ``MatchCriteria`` form is
  21+/20.8+ only, and older versions would read it as an empty pattern that matches all).

Action replies, list items (DBGetResponse, CoreShowChannel) and the FullyBooted written at
login are never filtered; OriginateResponse and FullyBooted at boot are manager events and are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What the client itself waits for: the reply of an async Originate and the boot notice.
CLIENT_EVENTS = ("OriginateResponse", "FullyBooted")

# The class (manager.conf ``read=`` name) of the events the engine may follow.
EVENT_CLASSES = {
    "OriginateResponse": "call",
    "FullyBooted": "system",
    "Shutdown": "system",
    "Reload": "system",
    "PeerStatus": "system",
    "ContactStatus": "system",
    "DeviceStateChange": "call",
    "Newchannel": "call",
    "Newstate": "call",
    "Hangup": "call",
    "HangupRequest": "call",
    "SoftHangupRequest": "call",
    "DialBegin": "call",
    "DialState": "call",
    "DialEnd": "call",
    "BridgeCreate": "call",
    "BridgeEnter": "call",
    "BridgeLeave": "call",
    "BridgeDestroy": "call",
    "QueueMemberStatus": "agent",
    "QueueMemberAdded": "agent",
    "QueueMemberRemoved": "agent",
    "QueueMemberPause": "agent",
    "QueueCallerJoin": "agent",
    "QueueCallerLeave": "agent",
    "QueueCallerAbandon": "agent",
    "AgentCalled": "agent",
    "AgentConnect": "agent",
    "AgentComplete": "agent",
    "AgentRingNoAnswer": "agent",
    "Cdr": "cdr",
    "UserEvent": "user",
}
_NAME = re.compile(r"[A-Za-z0-9_]+")


def filterable(names: Iterable[str]) -> bool:
    """Whether a filter can be built: no ``*`` handler and plain event names only."""
    return all(_NAME.fullmatch(n) for n in names)


def event_mask(names: Iterable[str]) -> str:
    """The eventmask for these events: their classes, or ``on`` when one is not known."""
    classes = set()
    for name in names:
        cls = EVENT_CLASSES.get(name)
        if cls is None:
            return "on"
        classes.add(cls)
    return ",".join(sorted(classes)) or "off"


def filter_pattern(names: Iterable[str]) -> str:
    """The include Filter for these event names (spelled as Asterisk does: the match is
    case-sensitive). ``[[:space:]]`` ends the name, so ``Hangup`` does not let
    ``HangupRequest`` through."""
    return f"^Event: ({'|'.join(sorted(set(names)))})[[:space:]]"
