"""Playbacks, music on hold, ringing indications, DTMF and recordings on simulated channels.

A playback lasts as long as its sound file (simulated seconds); it occupies the channel's
command queue while it plays. Play on a channel that is not Up is early media (183 Session
Progress): the channel stays ``Ring`` and the timeline marks the entry ``early_media``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING, Any

from ivr_engine.asterisk.constants import AriEvent, PlaybackState, RecordingState
from ivr_engine.sim import timeline as tl
from ivr_engine.sim.control import ChannelControl
from ivr_engine.sim.model import Bridge, Channel, LiveRecording, Playback
from ivr_engine.sim.sounds import Media

if TYPE_CHECKING:
    from ivr_engine.sim.core import WorldCore

    _Base = WorldCore
else:
    _Base = object

_STOPPED = "stopped"
_DONE = "done"


class MediaMixin(_Base):
    """Media operations of the simulated world."""

    # ------------------------------------------------------------------ playback
    def new_playback(
        self,
        media: list[str],
        target_uri: str,
        language: str,
        playback_id: str | None = None,
        offsetms: int = 0,
        skipms: int = 3000,
    ) -> Playback:
        """Create a queued playback object (POST .../play)."""
        pb = Playback(
            playback_id or str(uuid.uuid4()),
            media,
            target_uri,
            language,
            offsetms=offsetms,
            skipms=skipms,
        )
        self.playbacks[pb.id] = pb
        return pb

    def play_on_channel(self, ch: Channel, pb: Playback) -> None:
        """Queue a playback on the channel's command queue (the reply does not wait)."""
        assert ch.control is not None
        ch.control.submit(lambda: self.run_playback(pb, ch, None))

    def play_on_bridge(self, bridge: Bridge, pb: Playback) -> None:
        """Queue a playback to every channel of a bridge (bridge playbacks run in order)."""
        if bridge.control is None:
            bridge.control = ChannelControl(f"bridge-{bridge.id}")
        bridge.control.submit(lambda: self.run_playback(pb, None, bridge))

    def _listeners(self, ch: Channel | None, bridge: Bridge | None) -> list[Channel]:
        if bridge is not None:
            return [self.channels[c] for c in bridge.channels if c in self.channels]
        assert ch is not None
        listeners = [ch]
        if ch.snoop_target and ch.whisper and ch.snoop_target in self.channels:
            listeners.append(self.channels[ch.snoop_target])
        return listeners

    def _emit_playback(self, event_type: str, pb: Playback) -> None:
        scheme, _, oid = pb.target_uri.partition(":")
        if scheme == "channel":
            self.emit(event_type, {"playback": pb.to_json()}, (oid,))
            # Observers (tests scripting a party) learn of it too; AMI has no such event.
            if (ch := self.channels.get(oid)) is not None:
                self.notify(event_type, ch, playback=pb)
        else:
            self.emit(event_type, {"playback": pb.to_json()}, (), (oid,))

    async def run_playback(self, pb: Playback, ch: Channel | None, bridge: Bridge | None) -> None:
        """Play each media URI in turn, with PlaybackStarted / Continuing / Finished."""
        if pb.finished:
            return
        last_failed = False
        for index, uri in enumerate(pb.media):
            pb.index = index
            media = self.sounds.resolve(uri, pb.language)
            if media is None:
                continue
            pb.state = PlaybackState.PLAYING
            self._emit_playback(AriEvent.PLAYBACK_STARTED, pb)
            if ch is not None:  # a file stream replaces the ringing tone (main/file.c)
                self.stop_ringing(ch, "playback")
            entries = []
            for listener in self._listeners(ch, bridge):
                listener.had_media = True
                via: dict[str, Any] = (
                    {"via": ch.name} if ch is not None and listener is not ch else {}
                )
                entries.append(
                    (
                        listener,
                        listener.timeline.add(
                            tl.PLAY, uri, early_media=not listener.is_up, playback=pb.id, **via
                        ),
                    )
                )
            outcome = await self._play_one(pb, media) if media.found else _DONE
            result = (
                tl.FAILED
                if not media.found
                else tl.INTERRUPTED
                if outcome == _STOPPED
                else tl.COMPLETE
            )
            for listener, entry in entries:
                listener.timeline.close(entry, result)
            if pb.finished:
                return
            last_failed = not media.found
            if outcome == _STOPPED:
                last_failed = False
                break
            if index + 1 < len(pb.media):
                pb.state = PlaybackState.CONTINUING
                self._emit_playback(AriEvent.PLAYBACK_CONTINUING, pb)
        self.finish_playback(pb, PlaybackState.FAILED if last_failed else PlaybackState.DONE)

    def finish_playback(self, pb: Playback, state: str) -> None:
        """PlaybackFinished with ``state``; the playback object is gone afterwards."""
        if pb.finished:
            return
        pb.finished = True
        pb.state = state
        self._emit_playback(AriEvent.PLAYBACK_FINISHED, pb)
        self.playbacks.pop(pb.id, None)
        pb.stop.set()

    async def _play_one(self, pb: Playback, media: Media) -> str:
        """Wait out one media's length, obeying stop and control operations."""
        total = media.seconds
        remaining = None if total is None else max(0.0, total - pb.offsetms / 1000.0)
        pb.offsetms = 0
        paused = False
        loop = asyncio.get_running_loop()
        while True:
            if pb.stop.is_set():
                return _STOPPED
            timeout = None if (remaining is None or paused) else self.clock.wall(remaining)
            started = loop.time()
            op_task = asyncio.ensure_future(pb.control.get())
            stop_task = asyncio.ensure_future(pb.stop.wait())
            try:
                done, _ = await asyncio.wait(
                    {op_task, stop_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (op_task, stop_task):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if remaining is not None and not paused:
                remaining -= (loop.time() - started) * self.clock.speed
            if stop_task in done:
                return _STOPPED
            if op_task not in done:
                return _DONE
            op = op_task.result()
            paused, remaining = self._apply_op(pb, op, paused, remaining, total)

    def _apply_op(
        self, pb: Playback, op: str, paused: bool, remaining: float | None, total: float | None
    ) -> tuple[bool, float | None]:
        skip = pb.skipms / 1000.0
        if op == "pause":
            pb.state = PlaybackState.PAUSED
            return True, remaining
        if op == "unpause":
            pb.state = PlaybackState.PLAYING
            return False, remaining
        if op == "restart":
            return paused, total
        if op == "forward" and remaining is not None:
            return paused, max(0.0, remaining - skip)
        if op == "reverse" and remaining is not None and total is not None:
            return paused, min(total, remaining + skip)
        return paused, remaining

    def stop_playback(self, pb: Playback) -> None:
        """DELETE /playbacks/{id}: a queued one is cancelled (Finished done, no Started)."""
        if pb.state == PlaybackState.QUEUED:
            self.finish_playback(pb, PlaybackState.DONE)
        else:
            pb.stop.set()

    def abort_playbacks(self, ch: Channel) -> None:
        """The channel hung up: its running playback ends failed, queued ones are dropped."""
        target = f"channel:{ch.id}"
        for pb in list(self.playbacks.values()):
            if pb.target_uri != target:
                continue
            if pb.state == PlaybackState.QUEUED:
                pb.finished = True
                self.playbacks.pop(pb.id, None)
            else:
                self.finish_playback(pb, PlaybackState.FAILED)
        for rec in list(self.recordings.values()):
            if rec.target_uri == target and rec.state == RecordingState.RECORDING:
                rec.stop_state = RecordingState.DONE
                rec.stop.set()

    # ------------------------------------------------------------------ indications
    def start_indication(self, ch: Channel, kind: str, media: str = "", **detail: Any) -> None:
        """Start MOH / ringback / silence / hold heard by the party (early media if not Up)."""
        self.stop_indication(ch, kind)
        ch.had_media = True
        ch.timeline.add(kind, media, early_media=not ch.is_up, **detail)

    def stop_indication(self, ch: Channel, kind: str, ended_by: str = "") -> None:
        """Stop an indication started with start_indication."""
        for entry in ch.timeline.entries:
            if entry.kind == kind and entry.t_end is None:
                ch.timeline.close(entry, tl.COMPLETE)
                if ended_by:
                    entry.detail["ended_by"] = ended_by

    def indicate_ringing(self, ch: Channel) -> None:
        """ast_indicate(RINGING) (POST /ring): chan_pjsip sends 180 and the caller's phone
        rings by itself while nothing was sent yet; once SDP went out (early media) or when
        the channel is Up it declines, and the core plays the zone's ringback tone in band
        (main/channel.c), a tone generator that runs until something stops it: an
        indication stop, a playback or music on hold (they replace the generator). A
        two-party bridge of SIP channels is bridged at the RTP layer, so joining one does
        not stop it: the caller would hear ringing over the conversation."""
        inband = ch.is_up or ch.had_media
        self.start_indication(ch, tl.RINGBACK, "ring", **({"inband": True} if inband else {}))

    def stop_ringing(self, ch: Channel, ended_by: str) -> None:
        """ast_indicate(-1) and the like: the ringing indication (or its tone) stops."""
        self.stop_indication(ch, tl.RINGBACK, ended_by)

    async def send_dtmf(
        self, ch: Channel, digits: str, before: float, between: float, duration: float, after: float
    ) -> None:
        """Stream DTMF to the party (it occupies the command queue while it plays)."""
        await self.clock.sleep(before)
        for i, digit in enumerate(digits):
            if i:
                await self.clock.sleep(between)
            entry = ch.timeline.add(tl.DTMF_RECEIVED, digit, early_media=not ch.is_up)
            await self.clock.sleep(duration)
            ch.timeline.close(entry, tl.COMPLETE)
        await self.clock.sleep(after)

    def far_end_dtmf(self, ch: Channel, digit: str, duration_ms: int = 100) -> None:
        """The party pressed a key: ChannelDtmfReceived (reported at the digit's end)."""
        if ch.gone:
            return
        ch.timeline.add(tl.DTMF_SENT, digit, ended=True, duration_ms=duration_ms)
        self.emit_channel(AriEvent.CHANNEL_DTMF_RECEIVED, ch, digit=digit, duration_ms=duration_ms)
        bridge = self.bridges.get(ch.bridge_id or "")
        for other_id in bridge.channels if bridge else []:
            if other_id != ch.id and other_id in self.channels:
                self.channels[other_id].timeline.add(
                    tl.DTMF_RECEIVED, digit, ended=True, peer=ch.id
                )
        for rec in self.recordings.values():
            if rec.target_uri == f"channel:{ch.id}" and rec.terminate_on in ("any", digit):
                rec.stop_state = RecordingState.DONE
                rec.stop.set()

    # ------------------------------------------------------------------ recording
    def new_recording(
        self, name: str, fmt: str, target_uri: str, max_duration: float, terminate_on: str
    ) -> LiveRecording:
        """Create a queued live recording."""
        rec = LiveRecording(
            name, fmt, target_uri, max_duration=max_duration, terminate_on=terminate_on
        )
        self.recordings[name] = rec
        return rec

    async def run_recording(self, rec: LiveRecording, ch: Channel | None) -> None:
        """Record until stopped, the max duration, a terminating DTMF or a hangup."""
        rec.state = RecordingState.RECORDING
        rec.started_at = self.clock.elapsed()
        self._emit_recording(AriEvent.RECORDING_STARTED, rec)
        entry = ch.timeline.add(tl.RECORD, rec.name) if ch is not None else None
        timeout = self.clock.wall(rec.max_duration) if rec.max_duration > 0 else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rec.stop.wait(), timeout)
        rec.duration = self.clock.elapsed() - rec.started_at
        rec.state = rec.stop_state
        if ch is not None and entry is not None:
            ch.timeline.close(entry, tl.COMPLETE)
        if rec.state != RecordingState.CANCELED:
            self.stored_recordings[rec.name] = rec.format
        self._emit_recording(AriEvent.RECORDING_FINISHED, rec)

    def _emit_recording(self, event_type: str, rec: LiveRecording) -> None:
        scheme, _, oid = rec.target_uri.partition(":")
        chans: tuple[str, ...] = (oid,) if scheme == "channel" else ()
        bridges: tuple[str, ...] = (oid,) if scheme == "bridge" else ()
        self.emit(event_type, {"recording": rec.to_json()}, chans, bridges)

    def media_info(self) -> dict[str, Any]:
        """Counts for diagnostics."""
        return {"playbacks": len(self.playbacks), "recordings": len(self.recordings)}
