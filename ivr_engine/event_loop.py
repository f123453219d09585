"""The engine's event loop: uvloop (libuv) by default, the standard asyncio loop on request.

uvloop carries socket reads and writes in C; on the call benchmark it takes about a tenth
off the engine's CPU per call. ``event_loop = "asyncio"`` (``IVR_EVENT_LOOP``) falls back to
the standard loop, e.g. to profile it or where uvloop does not build.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
LOOPS = ("uvloop", "asyncio")


def run(main: Coroutine[Any, Any, T], loop: str = "uvloop") -> T:
    """``asyncio.run(main)`` on the chosen loop (uvloop when it is there)."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed; using the standard asyncio loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)
