"""The menu state machine as pure functions: (menus, state, event) -> (next state, effects).

The executor (``calls/menu.py``) feeds it three kinds of events, Digit (a
ChannelDtmfReceived of the caller), PromptDone (the menu prompt's PlaybackFinished) and
Timeout (the timer it armed ran out), and carries out the effects in order: Play (one
playback the caller may interrupt with a key), StopPlay, StartTimer, Note (a trace line) and
finally Leave (perform a leaving action: forward, queue, announcement, callback request).

Rules:

* Entering a menu plays its greeting (once) and its prompt as one playback. A key pressed
  during the prompt stops it and counts.
* After the prompt the first-key timeout runs; after a key of a longer choice the
  inter-digit timeout. An exact choice that a longer one could extend is taken when the
  inter-digit timeout passes.
* A wrong key plays the invalid prompt and the menu again; silence plays the timeout prompt
  (if any) and the menu again. After ``tries`` attempts the caller goes to the menu's
  destination (default: goodbye, hang up).
* Repeat plays the menu again (the count of tries starts over); back returns to the menu
  before; a sub-menu item enters that menu. A menu with a single item performs it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from ivr_engine.domain.ivr import HANG_UP, ActionKind, Match, Menu, MenuAction, match_digits
from ivr_engine.domain.model import Prompt

MAX_HOPS = 16  # single-item menus chained without a prompt; more is a loop


class Phase(StrEnum):
    """Where a menu call is."""

    PROMPT = "prompt"  # the prompt is playing (a key interrupts it)
    WAIT = "wait"  # waiting for a key, the timer running
    DONE = "done"  # the menu was left


@dataclass(frozen=True)
class MenuState:
    """A menu call's state: the current menu, the keys pressed so far, the try, and the
    menus entered before this one (for go back)."""

    menu: str
    phase: Phase
    digits: str = ""
    tries: int = 1
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Digit:
    """The caller pressed a key."""

    digit: str


@dataclass(frozen=True)
class PromptDone:
    """The menu prompt finished playing."""


@dataclass(frozen=True)
class Timeout:
    """The timer ran out with no key."""


MenuEvent = Digit | PromptDone | Timeout


@dataclass(frozen=True)
class Sound:
    """A prompt to play: the configured one, else a system prompt by name."""

    label: str
    prompt: Prompt | None = None
    system: str | None = None


@dataclass(frozen=True)
class Play:
    """Play these sounds as one playback the caller may interrupt (cancels the timer)."""

    sounds: tuple[Sound, ...]


@dataclass(frozen=True)
class StopPlay:
    """Stop the playing prompt (the caller pressed a key)."""


@dataclass(frozen=True)
class StartTimer:
    """Arm the timer (replaces a running one)."""

    seconds: float


@dataclass(frozen=True)
class Note:
    """A line for the call's trace."""

    text: str


@dataclass(frozen=True)
class Leave:
    """Leave the menus: play ``prelude`` (not interruptible), then perform ``action``."""

    action: MenuAction
    menu: str
    digits: str
    reason: str
    prelude: tuple[Sound, ...] = ()


Effect = Play | StopPlay | StartTimer | Note | Leave
Result = tuple[MenuState, tuple[Effect, ...]]


def start(menus: Mapping[str, Menu], entry: str) -> Result:
    """The first state and effects of a call entering the menu ``entry``."""
    return _enter(menus, entry, (), greeting=True, hops=0)


def step(menus: Mapping[str, Menu], state: MenuState, event: MenuEvent) -> Result:
    """The next state and effects after one event."""
    if state.phase is Phase.DONE:
        return state, ()
    if isinstance(event, PromptDone):
        if state.phase is not Phase.PROMPT:
            return state, ()
        return replace(state, phase=Phase.WAIT), (StartTimer(menus[state.menu].timeout),)
    if isinstance(event, Timeout):
        if state.phase is not Phase.WAIT:
            return state, ()
        found = match_digits(menus[state.menu].items, state.digits)
        if state.digits and found.item is not None:
            return _choose(menus, state, found.item.action, state.digits)
        return _retry(menus, state, "invalid" if state.digits else "timeout")
    effects: tuple[Effect, ...] = (StopPlay(),) if state.phase is Phase.PROMPT else ()
    digits = state.digits + event.digit
    menu = menus[state.menu]
    found = match_digits(menu.items, digits)
    if found.status is Match.COMPLETE and found.item is not None:
        nxt, more = _choose(menus, state, found.item.action, digits)
    elif found.status is Match.INCOMPLETE:
        nxt, more = (
            replace(state, phase=Phase.WAIT, digits=digits),
            (StartTimer(menu.digit_timeout),),
        )
    else:
        nxt, more = _retry(menus, replace(state, digits=digits), "invalid")
    return nxt, effects + more


def _menu_sound(menu: Menu) -> tuple[Sound, ...]:
    """The menu prompt as sounds ('' when the menu has none)."""
    prompt = menu.menu_prompt()
    return (Sound(f"menu {menu.id}", prompt),) if prompt is not None else ()


def _ask(menu: Menu, state: MenuState, sounds: tuple[Sound, ...]) -> Result:
    """Play sounds then wait; with nothing to play, wait at once."""
    if sounds:
        return replace(state, phase=Phase.PROMPT, digits=""), (Play(sounds),)
    return replace(state, phase=Phase.WAIT, digits=""), (StartTimer(menu.timeout),)


def _leave(
    state: MenuState, action: MenuAction, digits: str, reason: str, prelude: tuple[Sound, ...] = ()
) -> Result:
    """The final state and the Leave effect."""
    done = replace(state, phase=Phase.DONE, digits=digits)
    return done, (
        Note(f"menu {state.menu}: {reason} -> {action.describe()}"),
        Leave(action, state.menu, digits, reason, prelude),
    )


def _enter(
    menus: Mapping[str, Menu], menu_id: str, path: tuple[str, ...], *, greeting: bool, hops: int
) -> Result:
    """Enter a menu: a single item is performed at once, else the prompt plays."""
    state = MenuState(menu_id, Phase.PROMPT, path=path)
    menu = menus.get(menu_id)
    if menu is None:
        return _leave(state, HANG_UP, "", f"menu {menu_id} is not defined")
    hello = (
        (Sound(f"menu {menu_id} greeting", menu.greeting),)
        if greeting and menu.greeting is not None
        else ()
    )
    single = menu.single
    if single is not None and single.action.kind is not ActionKind.REPEAT:
        if single.action.kind is ActionKind.MENU or single.action.kind is ActionKind.BACK:
            if hops >= MAX_HOPS:
                return _leave(state, HANG_UP, "", "single-item menus form a loop")
            target = (
                single.action.menu
                if single.action.kind is ActionKind.MENU
                else (path[-1] if path else None)
            )
            if target is not None:
                back = single.action.kind is ActionKind.BACK
                return _enter(
                    menus,
                    target,
                    path[:-1] if back else (*path, menu_id),
                    greeting=not back,
                    hops=hops + 1,
                )
        else:
            return _leave(state, single.action, "", "single item, no prompt", hello)
    state, effects = _ask(menu, state, hello + _menu_sound(menu))
    return state, (Note(f"menu {menu_id}"), *effects)


def _choose(menus: Mapping[str, Menu], state: MenuState, action: MenuAction, digits: str) -> Result:
    """Perform a chosen item's action."""
    menu = menus[state.menu]
    if action.kind is ActionKind.REPEAT:
        nxt, effects = _ask(menu, replace(state, tries=1), _menu_sound(menu))
        return nxt, (Note(f"menu {menu.id}: {digits} -> repeat"), *effects)
    if action.kind is ActionKind.BACK:
        if not state.path:
            nxt, effects = _ask(menu, replace(state, tries=1), _menu_sound(menu))
            return nxt, (
                Note(f"menu {menu.id}: {digits} -> back (no menu before: repeat)"),
                *effects,
            )
        nxt, effects = _enter(menus, state.path[-1], state.path[:-1], greeting=False, hops=0)
        return nxt, (Note(f"menu {menu.id}: {digits} -> back"), *effects)
    if action.kind is ActionKind.MENU and action.menu is not None:
        nxt, effects = _enter(menus, action.menu, (*state.path, menu.id), greeting=True, hops=0)
        return nxt, (Note(f"menu {menu.id}: {digits} -> menu {action.menu}"), *effects)
    return _leave(state, action, digits, f"pressed {digits}")


def _retry(menus: Mapping[str, Menu], state: MenuState, why: str) -> Result:
    """A wrong key or silence: ask again, or go to the destination after the last try."""
    menu = menus[state.menu]
    if why == "invalid":
        sound: Sound | None = Sound(
            "invalid-choice", menu.invalid_prompt, None if menu.invalid_prompt else "invalid-choice"
        )
    else:
        sound = Sound("no choice", menu.timeout_prompt) if menu.timeout_prompt else None
    said = f"{why} ({state.digits})" if state.digits else why
    extra = (sound,) if sound is not None else ()
    if state.tries >= menu.tries:
        dest = menu.destination
        reason = f"{said} on the last of {menu.tries} tries"
        if dest.kind is ActionKind.MENU and dest.menu is not None:
            nxt, effects = _enter(menus, dest.menu, (*state.path, menu.id), greeting=True, hops=0)
            return nxt, (
                Note(f"menu {menu.id}: {reason} -> menu {dest.menu}"),
                *_prefixed(effects, extra),
            )
        return _leave(state, dest, state.digits, reason, extra)
    nxt, effects = _ask(menu, replace(state, tries=state.tries + 1), extra + _menu_sound(menu))
    return nxt, (Note(f"menu {menu.id}: {said}, try {state.tries + 1} of {menu.tries}"), *effects)


def _prefixed(effects: tuple[Effect, ...], sounds: tuple[Sound, ...]) -> tuple[Effect, ...]:
    """Effects with ``sounds`` played first (with the first Play or Leave; a menu with no
    prompt at all just waits)."""
    out: list[Effect] = []
    for effect in effects:
        if sounds and isinstance(effect, Play):
            effect, sounds = Play(sounds + effect.sounds), ()
        elif sounds and isinstance(effect, Leave):
            effect, sounds = replace(effect, prelude=sounds + effect.prelude), ()
        out.append(effect)
    return tuple(out)
