"""The cyclic garbage collector, set for a long-running engine.

Everything the engine builds at start (modules, the configuration cache, compiled schedules,
metrics) lives until it stops; a call makes short-lived objects by the thousand (events,
futures, trace entries), nearly all freed by their reference counts. With the collector's
defaults every 700 allocations trigger a young collection, and each full collection walks
the whole long-lived heap again. ``settle()`` moves what exists after start into the
permanent generation (``gc.freeze``: never scanned again) and makes young collections rarer.
"""

from __future__ import annotations

import gc

# Allocations between young collections (the default is 700), then how many young ones per
# middle one and middle ones per full one (the defaults).
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Freeze the heap built so far and set the collector's thresholds (call once the engine
    is up, before it serves calls)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
