"""What one call session did and saw, in order: the material for call records and the
readable trace the demo and ``ivr-engine call`` print.

Pure data, filled by the call session (``calls/``) as the call goes. Times are aware
datetimes from the session's clock (UTC); display converts them.

Entry kinds: start, plan, play (a prompt to the caller: ``label`` = prompt kind or system
prompt name, ``media``, ``early_media``, ``result``), coloring, ring (a target leg started:
``target``, ``leg``), attempt (``target``, ``result``, ``cause``), whisper, answer, bridge,
limit, failed, hangup (by the engine: ``cause``), gone (the caller hung up), fallback,
adopted, end.

``render(texts)`` and ``spoken_media`` show a played sound by what it says when its text is
known (``texts``: sound name -> text, from the prompt manifest and the system prompts), e.g.
``"하늘쇼핑 고객센터입니다."`` instead of ``sound:ivr/tts-d361c9a9f0b3d2e1``, and by its name
otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.numbers import mask

# The data of entries that carry none: one shared dict, never written to (entries are
# frozen and nothing adds to their data), instead of an empty dict per entry.
_NO_DATA: dict[str, Any] = {}
_SOUND = re.compile(r"sound:([A-Za-z0-9_./-]+)")
TEXT_WIDTH = 40  # characters of a prompt's text shown before it is cut


def shorten(text: str, width: int = TEXT_WIDTH) -> str:
    """``text`` on one line, cut to at most ``width`` characters (at a space when one is
    near the end, marked with an ellipsis)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1]
    space = cut.rfind(" ")
    if space >= width * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,.") + "…"


def spoken_media(line: str, texts: Mapping[str, str], width: int = TEXT_WIDTH) -> str:
    """``line`` with every ``sound:<name>`` whose text is known replaced by that text, in
    quotes and shortened; other sounds keep their names."""

    def name(match: re.Match[str]) -> str:
        text = texts.get(match.group(1))
        return f'"{shorten(text, width)}"' if text else match.group(0)

    return _SOUND.sub(name, line) if texts else line


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One thing that happened in a call."""

    at: datetime
    kind: str  # start, plan, play, ring, attempt, answer, bridge, hangup, fallback, error, end
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CallTrace:
    """The running account of one call session."""

    channel_id: str  # the caller's channel: Asterisk uniqueid, and the record's idempotent key
    number: str  # the virtual number dialled, normalised
    caller_raw: str  # the caller ID as received
    started: datetime
    linkedid: str = ""
    caller: str = ""  # normalised caller digits ('' for anonymous or malformed)
    tenant_id: str | None = None
    node: str = ""  # the engine instance that handled the call
    entries: list[TraceEntry] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    answered_target: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_started: datetime | None = None  # when the first target leg started ringing
    hangup_by: str | None = None  # caller | callee | engine
    hangup_cause: int | None = None
    state: str | None = None
    outcome: str | None = None
    config_version: int | None = None
    reasons: tuple[str, ...] = ()
    channel_name: str = ""  # the caller's Asterisk channel name (PJSIP/carrier-0000000a)
    dst_channel: str = ""  # the target leg connected, else the last one dialled

    def add(self, at: datetime, kind: str, text: str, **data: Any) -> None:
        """Record one entry."""
        self.entries.append(TraceEntry(at, kind, text, data or _NO_DATA))

    def prompts(self) -> list[dict[str, Any]]:
        """The prompts played to either party, in order: label, media, result."""
        out = []
        for e in self.entries:
            if e.kind in ("play", "whisper", "coloring") and e.data.get("media"):
                out.append(
                    {
                        "kind": e.kind,
                        "label": e.data.get("label", e.kind),
                        "media": e.data["media"],
                        "result": e.data.get("result", ""),
                    }
                )
        return out

    def kinds(self) -> list[str]:
        """The entry kinds in order (for assertions)."""
        return [e.kind for e in self.entries]

    def render(self, texts: Mapping[str, str] | None = None) -> str:
        """A readable, masked account of the call, one line per entry; sounds whose text
        ``texts`` knows are shown by their words (``spoken_media``)."""
        head = f"call {self.channel_id}: {mask(self.caller_raw)} -> {mask(self.number)}"
        lines = [head]
        for entry in self.entries:
            offset = (entry.at - self.started).total_seconds()
            text = spoken_media(entry.text, texts) if texts else entry.text
            lines.append(f"  +{offset:6.2f}s  {entry.kind:<8} {text}")
        return "\n".join(lines)


_TIMES = ("started", "answered_at", "ended_at", "ring_started")
_PLAIN = (
    "channel_id",
    "number",
    "caller_raw",
    "linkedid",
    "caller",
    "tenant_id",
    "node",
    "answered_target",
    "hangup_by",
    "hangup_cause",
    "state",
    "outcome",
    "config_version",
    "channel_name",
    "dst_channel",
)


def trace_to_json(trace: CallTrace) -> dict[str, Any]:
    """The trace as JSON-ready data (handed over to the engine that adopts a call)."""
    data: dict[str, Any] = {name: getattr(trace, name) for name in _PLAIN}
    for name in _TIMES:
        value = getattr(trace, name)
        data[name] = value.isoformat() if value is not None else None
    data["reasons"] = list(trace.reasons)
    data["attempts"] = [[a.target, a.result.value, a.cause, a.ring_seconds] for a in trace.attempts]
    data["entries"] = [[e.at.isoformat(), e.kind, e.text, e.data] for e in trace.entries]
    return data


def trace_from_json(data: dict[str, Any]) -> CallTrace:
    """The inverse of ``trace_to_json``; raises ValueError / KeyError on malformed data."""

    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    started = when(data["started"])
    if started is None:
        raise ValueError("a trace needs its start time")
    trace = CallTrace(data["channel_id"], data["number"], data["caller_raw"], started)
    for name in _PLAIN[3:]:
        setattr(trace, name, data.get(name))
    trace.answered_at, trace.ended_at = when(data.get("answered_at")), when(data.get("ended_at"))
    trace.ring_started = when(data.get("ring_started"))
    trace.reasons = tuple(data.get("reasons", ()))
    trace.attempts = [
        Attempt(t, TargetResult(r), c, float(s)) for t, r, c, s in data.get("attempts", ())
    ]
    trace.entries = [
        TraceEntry(datetime.fromisoformat(at), kind, text, dict(extra) if extra else _NO_DATA)
        for at, kind, text, extra in data.get("entries", ())
    ]
    return trace
