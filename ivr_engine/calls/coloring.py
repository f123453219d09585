"""The coloring (custom ringback) a caller hears while the forward targets ring.

Played as early media on the unanswered caller channel (SIP 183, never an answer), as a
media list of the sound repeated, re-issued on PlaybackFinished when it runs out. Stopped
before the caller is answered or bridged: a running playback holds the channel's command
queue (protocol facts A.2), so an answer sent while it plays would wait until the sound
ends.

Without a coloring the caller gets a ringing indication (``POST /ring``): a 180, or once
early media has started or the caller is answered (a menu, a queue before the forward), a
ringback tone Asterisk plays in band until the indication is stopped. Joining a bridge does
not stop it. An unanswered caller's ringing ends with its answer (``ast_raw_answer`` ends
with ``ast_indicate(-1)``) or the next prompt; for a caller answered before, who gets no
second answer, ``stop()`` ends it with ``DELETE /ring`` before the two are bridged.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from ivr_engine.asterisk.ari.errors import AriError
from ivr_engine.asterisk.ari.events import PlaybackFinished
from ivr_engine.calls.env import CallEnv
from ivr_engine.calls.flag import Flag
from ivr_engine.calls.legs import HANGUP_GRACE

log = logging.getLogger(__name__)

# The coloring is queued as one playback of the sound repeated this many times (a media
# list: one request and one PlaybackFinished instead of one per loop); the loop only
# re-issues it when a target rings longer than that.
REPEAT = 20


class ColoringLoop:
    """Loops one sound on the caller as early media until stopped; without a sound (or when
    it cannot be played) it falls back to a ringing indication."""

    def __init__(
        self,
        env: CallEnv,
        channel_id: str,
        media: str | None,
        gone: Flag | None = None,
        *,
        answered: bool = False,
    ) -> None:
        self.env = env
        self.answered = answered  # the caller was answered before (a menu, a queue)
        self._gone = gone or Flag()
        self.channel_id = channel_id
        self.media = media
        self.plays = 0
        self.fell_back_to_ring = False
        self._ringing = False  # a ringing indication is on and not stopped yet
        self._stopping = False
        self._current: str | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)

    async def start(self) -> None:
        """Begin the coloring (or ringing when the number has none)."""
        if self.media is None:
            await self._ring()
            return
        self._task = asyncio.create_task(self._loop(), name=f"coloring-{self.channel_id}")

    async def _ring(self) -> None:
        """Indicate ringing (180) to the caller instead of a coloring."""
        self.fell_back_to_ring = True
        try:
            await self.env.ari.ring(self.channel_id)
        except AriError as exc:
            log.warning("call %s: ringing indication failed: %s", self.channel_id, exc)
            return
        self._ringing = True

    async def _stop_ring(self) -> None:
        """Stop the ringing indication (its in-band tone would go on into the bridge)."""
        self._ringing = False
        try:
            await self.env.ari.ring_stop(self.channel_id)
        except AriError as exc:
            log.warning("call %s: stopping the ringing indication failed: %s", self.channel_id, exc)

    async def _loop(self) -> None:
        """Play, wait for the end, play again, until stopped."""
        assert self.media is not None
        while not self._stopping:
            pid = f"col-{self.channel_id}-{next(self._ids)}"
            with self.env.events.expect(PlaybackFinished, channel_id=pid) as waiter:
                async with self._lock:
                    if self._stopping:
                        return
                    self._current = pid
                    try:
                        await self.env.ari.play(
                            self.channel_id, [self.media] * REPEAT, playback_id=pid
                        )
                    except AriError as exc:
                        refused: AriError | None = exc
                    else:
                        refused = None
                if refused is not None:
                    await self._play_failed(refused)
                    return
                self.plays += 1
                finished = await waiter.wait(self.env.playback_timeout)
            if finished.playback.state == "failed":
                # A caller's CANCEL during early media also ends the playback "failed".
                if not self._stopping and not self._gone.is_set():
                    log.warning(
                        "coloring %s could not be played on %s; ringing instead",
                        self.media,
                        self.channel_id,
                    )
                    await self._ring()
                return

    async def _play_failed(self, error: AriError) -> None:
        """The coloring's play request failed: because the caller hung up meanwhile (its
        events follow the reply), or for a reason to log; the caller then hears ringing."""
        try:
            await asyncio.wait_for(self._gone.wait(), HANGUP_GRACE)
        except TimeoutError:
            pass
        else:
            log.info("call %s: %s (the caller hung up meanwhile)", self.channel_id, error)
            return
        log.warning("call %s: coloring not played (%s); ringing instead", self.channel_id, error)
        if not self._stopping:
            await self._ring()

    async def stop(self) -> None:
        """Stop the coloring (or the ringing) and wait until the channel's command queue is
        free."""
        self._stopping = True
        if self._task is not None:
            await self._stop_loop()
            if self._task.done():  # not kept for the rest of the call
                self._task = None
        if self._ringing and self.answered and not self._gone.is_set():
            await self._stop_ring()

    async def _stop_loop(self) -> None:
        """Stop the coloring's playback and wait for the loop to end."""
        assert self._task is not None
        async with self._lock:
            if self._current is not None:
                try:
                    await self.env.ari.stop_playback(self._current, missing_ok=True)
                except AriError as exc:
                    log.warning("stopping coloring %s failed: %s", self._current, exc)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.env.request_timeout)
        except TimeoutError:
            log.warning("coloring on %s did not report its end; carrying on", self.channel_id)
            self._task.cancel()
        except (AriError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("coloring loop on %s failed", self.channel_id)

    def cancel(self) -> None:
        """Abandon the loop without REST calls (the caller is gone)."""
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def aclose(self) -> None:
        """Cancel and reap the loop task."""
        self.cancel()
        if self._task is not None:
            await asyncio.wait({self._task})
