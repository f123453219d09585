"""What each party of a simulated call heard and did: the per-channel media timeline.

Tests assert on it ("the whisper reached only the callee", "the caller was answered only
after the target"), and ``ivr-engine call`` prints it. Times are simulated seconds since the
simulator started.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Entry kinds.
PLAY = "play"
MOH = "moh"
RINGBACK = "ringback"
RINGING = "ringing"
PROGRESS = "progress"
SILENCE = "silence"
DTMF_SENT = "dtmf_sent"
DTMF_RECEIVED = "dtmf_received"
BRIDGED = "bridged"
ANSWERED = "answered"
HANGUP = "hangup"
STASIS = "stasis"
STASIS_FAILED = "stasis_failed"
DIAL = "dial"
DECLINED = "declined"
RECORD = "record"
HOLD = "hold"

# Results.
COMPLETE = "complete"
INTERRUPTED = "interrupted"
FAILED = "failed"


@dataclass
class MediaEvent:
    """One timeline entry: a sound heard, a DTMF digit, an answer, a bridge, a hangup..."""

    t_start: float
    kind: str
    media: str = ""
    t_end: float | None = None
    early_media: bool = False
    result: str = ""
    peer: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (used by the control API and the CLI)."""
        return asdict(self)

    def describe(self) -> str:
        """One human-readable line."""
        end = f"-{self.t_end:7.2f}" if self.t_end is not None else " " * 8
        parts = [f"{self.t_start:7.2f}{end}s", f"{self.kind:14s}"]
        if self.media:
            parts.append(self.media)
        if self.early_media:
            parts.append("(early media)")
        if self.peer:
            parts.append(f"peer={self.peer}")
        if self.result:
            parts.append(f"[{self.result}]")
        if self.detail:
            parts.append(" ".join(f"{k}={v}" for k, v in self.detail.items()))
        return " ".join(parts)


class Timeline:
    """The ordered entries of one channel."""

    def __init__(self, elapsed: Any) -> None:
        self._elapsed = elapsed
        self.entries: list[MediaEvent] = []

    def add(
        self,
        kind: str,
        media: str = "",
        *,
        early_media: bool = False,
        peer: str = "",
        result: str = "",
        ended: bool = False,
        **detail: Any,
    ) -> MediaEvent:
        """Append an entry starting now; ``ended`` closes it at once (instant events)."""
        now = self._elapsed()
        entry = MediaEvent(
            now, kind, media, now if ended else None, early_media, result, peer, dict(detail)
        )
        self.entries.append(entry)
        return entry

    def close(self, entry: MediaEvent, result: str = "") -> None:
        """End an open entry now, with a result."""
        if entry.t_end is None:
            entry.t_end = self._elapsed()
        if result and not entry.result:
            entry.result = result

    def close_open(self, result: str = INTERRUPTED) -> None:
        """End every entry still open (on hangup)."""
        for entry in self.entries:
            if entry.t_end is None:
                self.close(entry, result)
