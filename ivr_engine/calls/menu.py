"""Running an IVR menu on a live call: prompt, keys, timeouts, then the chosen action.

The caller is answered first (keys are only reliable on an answered channel). The decisions
are the pure state machine's (``domain.menu_machine``); this module turns the caller's
ChannelDtmfReceived and the prompt's PlaybackFinished into its events, arms its timer, and
carries out its effects over ARI. A key pressed during the prompt stops it at once
(``DELETE /playbacks``, which Asterisk does not queue). When the caller leaves the menus
the chosen action runs: forward (the Forwarder with the item's targets or the number's),
queue (``calls.queue.run_queue``), announcement then hang-up, or a callback request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ivr_engine.asterisk.ari.events import ChannelDtmfReceived, Event, PlaybackFinished
from ivr_engine.calls.callback_request import CallbackNotPossible, leave_callback_request
from ivr_engine.calls.forward import Forwarder
from ivr_engine.calls.legs import race
from ivr_engine.calls.queue import run_queue
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.ivr import ActionKind, MenuAction
from ivr_engine.domain.menu_machine import (
    Digit,
    Effect,
    Leave,
    MenuEvent,
    Note,
    Play,
    PromptDone,
    Sound,
    StartTimer,
    StopPlay,
    Timeout,
    start,
    step,
)
from ivr_engine.domain.planner import MenuStep
from ivr_engine.errors import DatabaseError

if TYPE_CHECKING:
    from ivr_engine.calls.session import CallSession

log = logging.getLogger(__name__)


class MenuCall:
    """One caller in the menus of one MenuStep."""

    def __init__(self, session: CallSession, menu_step: MenuStep) -> None:
        self.session = session
        self.env = session.env
        self.step = menu_step
        self.menus = menu_step.menu_map()
        self.events: asyncio.Queue[MenuEvent] = asyncio.Queue()
        self.playback: str | None = None  # the prompt now playing
        self.playing: dict[str, tuple[str, str]] = {}  # playback id -> (media, label)
        self.deadline: float | None = None
        self._count = 0

    async def run(self) -> None:
        """Answer, run the menus until the caller leaves them, then perform the action."""
        channel = self.session.channel_id
        sub = self.env.events.subscribe(
            self._on_event, channel_id=channel, types=(ChannelDtmfReceived, PlaybackFinished)
        )
        try:
            if not self.session.answered:
                await race(
                    self.env.ari.answer(channel),
                    self.session.watch,
                    timeout=self.env.request_timeout,
                )
                self.session.mark_answered()
            state, effects = start(self.menus, self.step.entry)
            while (leave := await self._apply(effects)) is None:
                state, effects = step(self.menus, state, await self._next())
        finally:
            sub.close()
        await perform(self.session, self.step, leave)

    def _on_event(self, event: Event) -> None:
        """Keys and prompt ends of the caller's channel become machine events."""
        if isinstance(event, ChannelDtmfReceived):
            self.session.note("dtmf", f"caller pressed {event.digit}", digit=event.digit)
            self.events.put_nowait(Digit(event.digit))
        elif isinstance(event, PlaybackFinished) and event.playback.id in self.playing:
            media, label = self.playing.pop(event.playback.id)
            self._note_play(media, label, event.playback.state)
            if event.playback.id == self.playback:
                self.playback = None
                self.events.put_nowait(PromptDone())

    def _note_play(self, media: str, label: str, result: str) -> None:
        """A menu prompt in the call's trace."""
        self.session.note(
            "play",
            f"{label}: {media} (answered) {result}",
            media=media,
            label=label,
            early_media=False,
            result=result,
        )

    async def _next(self) -> MenuEvent:
        """The next key or prompt end; Timeout when the armed timer runs out first."""
        loop = asyncio.get_running_loop()
        timeout = None
        if self.deadline is not None and self.playback is None:
            timeout = max(0.0, self.deadline - loop.time())
        try:
            return await race(self.events.get(), self.session.watch, timeout=timeout)
        except TimeoutError:
            self.deadline = None
            return Timeout()

    async def _apply(self, effects: tuple[Effect, ...]) -> Leave | None:
        """Carry out effects in order; the Leave effect, if any, is returned."""
        for effect in effects:
            if isinstance(effect, Play):
                await self._play(effect.sounds)
            elif isinstance(effect, StopPlay):
                await self._stop()
            elif isinstance(effect, StartTimer):
                self.deadline = asyncio.get_running_loop().time() + effect.seconds
            elif isinstance(effect, Note):
                self.session.note("menu", effect.text)
            elif isinstance(effect, Leave):
                return effect
        return None

    async def _play(self, sounds: tuple[Sound, ...]) -> None:
        """Start one interruptible playback of the sounds (the timer waits for its end)."""
        self._count += 1
        pid = f"menu-{self.session.channel_id}-{self._count}"
        media = [sound_media(self.session, s) for s in sounds]
        label = " + ".join(s.label for s in sounds)
        self.playback, self.deadline = pid, None
        self.playing[pid] = (",".join(media), label)
        await race(
            self.env.ari.play(self.session.channel_id, media, playback_id=pid),
            self.session.watch,
            timeout=self.env.request_timeout,
        )

    async def _stop(self) -> None:
        """Stop the prompt the caller interrupted (a finished one is gone: fine)."""
        pid, self.playback = self.playback, None
        if pid is None:
            return
        if pid in self.playing:
            media, label = self.playing.pop(pid)
            self._note_play(media, label, "interrupted")
        await self.env.ari.stop_playback(pid, missing_ok=True)


def sound_media(session: CallSession, sound: Sound) -> str:
    """The media URI of a menu sound: its prompt, else its system prompt, else goodbye."""
    return session.env.media.choose(sound.prompt, sound.system) or session.env.media.system(
        "goodbye"
    )


async def run_menu(session: CallSession, menu_step: MenuStep) -> None:
    """Run a MenuStep on the session's caller (the executor's entry point)."""
    await MenuCall(session, menu_step).run()


async def perform(session: CallSession, menu_step: MenuStep, leave: Leave) -> None:
    """Play the prelude, then perform the action the caller left the menus with."""
    for sound in leave.prelude:
        await session.play(sound_media(session, sound), sound.label)
    action = leave.action
    if action.kind is ActionKind.FORWARD:
        await Forwarder(session, menu_step.dial_for(action)).run()
    elif action.kind is ActionKind.QUEUE:
        await run_queue(session, action.queue or "")
    elif action.kind is ActionKind.CALLBACK:
        await request_callback(session, action)
    else:
        await _announce(session, action, "announcement")


async def _announce(session: CallSession, action: MenuAction, label: str) -> None:
    """The action's prompt (or goodbye), then hang up."""
    media = sound_media(session, Sound(label, action.prompt, "goodbye"))
    await session.play(media, label)
    await session.hangup_caller(Cause.NORMAL_CLEARING, label)


async def request_callback(session: CallSession, action: MenuAction) -> int | None:
    """Leave a callback request for the caller, confirm it with the item's prompt, hang up.
    Returns the request id; None when no request could be left (the caller's number is
    unknown, or the database failed): the caller then hears "cannot be reached"."""
    try:
        request = await leave_callback_request(session, source="menu")
    except (CallbackNotPossible, DatabaseError) as exc:
        log.warning("call %s: callback request not possible: %s", session.channel_id, exc)
        session.note("callback", f"callback request not possible: {exc}")
        await session.play(session.env.media.system("cannot-be-reached"), "cannot-be-reached")
        await session.hangup_caller(Cause.NORMAL_CLEARING, "callback request not possible")
        return None
    await _announce(session, action, "callback confirmation")
    return request
