"""A small progress display for bulk prompt builds: a bar on a terminal, nothing otherwise
(the plain summary at the end is what logs and CI read)."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    """Counts finished items and redraws one line on a TTY."""

    def __init__(
        self, total: int, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        """Show progress of ``total`` items on ``stream`` (stderr); a bar only on a TTY
        unless ``enabled`` says otherwise."""
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def line(self, label: str = "") -> str:
        """The text of the bar for the current count."""
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"[{bar}] {self.done}/{self.total} {label}"[:100]

    def advance(self, label: str = "") -> None:
        """One more item finished; redraw."""
        self.done += 1
        if self.enabled:
            self.stream.write("\r" + self.line(label).ljust(100))
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line so later output starts clean."""
        if self.enabled and self.total:
            self.stream.write("\n")
            self.stream.flush()
