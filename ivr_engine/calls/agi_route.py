"""The FastAGI ``route`` script: the planner's decision as channel variables for the dialplan.

``AGI(agi://127.0.0.1:4573/route)`` in ``dialplan/ivr-engine.conf`` (context
``from-carrier-agi``) connects here. The handler reads the dialled number (``agi_extension``,
else ``agi_dnid``; ``+82...`` and ``0...`` forms both work) and the caller (``agi_callerid``;
``unknown`` or empty is an anonymous caller), loads the number's configuration (the cache;
the last known copy while the database is down), plans the call with the same
``plan_call`` the ARI executor uses, and sets the variables the dialplan acts on:

===============  ===========================================================================
IVR_ACTION       ``forward`` | ``announce`` | ``hangup`` | ``fallback`` (set last)
IVR_TARGETS      forward targets, national digits, ``&``-joined, in ringing order
IVR_STRATEGY     ``sequential`` | ``simultaneous``
IVR_RING         ring seconds per target (``&``-joined); simultaneous: one value, the longest
IVR_CALLERID     the number the target sees (the caller's or the 050 number); '' keeps it
IVR_WHISPER      sound played to the target alone when it answers ('' for none)
IVR_PROMPT       announce: the sound to play; forward: the greeting, if the number has one
IVR_ANSWER       ``1``: answer before the prompt; ``0``: early media (caller not charged)
IVR_CAUSE        announce / hangup: the Q.850 cause of the hang-up
===============  ===========================================================================

Every variable is set on every call (empty when it does not apply), so nothing left over
from an earlier pass through the dialplan is acted on. ``IVR_ACTION`` is set last: a call
whose connection breaks half-way has no action and takes the dialplan's AstDB fallback.

What AGI mode cannot do: coloring (custom ringback needs ARI; callers hear the carrier's
ringback), the greeting before forwarding (the shipped dialplan's forward branch plays no
prompt; ``IVR_PROMPT`` carries it for a dialplan that does), the talk-time limit, IVR menus
and queues. A menu or queue plan rings the number's own forward targets when it has any,
else it announces "cannot be reached" (cause 3, no route), as early media.

When the configuration cannot be read and no copy is cached, or the dialled number is not a
phone number, ``IVR_ACTION=fallback``: the dialplan's ``ivr-fallback`` context forwards to the
first target kept in AstDB, as when the engine is not running at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from ivr_engine.asterisk.agi.protocol import AgiRequest
from ivr_engine.asterisk.agi.server import AgiChannel
from ivr_engine.calls.env import CallEnv, utc_now
from ivr_engine.calls.media import PromptMedia
from ivr_engine.calls.ports import Clock, ConfigSource, ConfigUnavailable, load_config
from ivr_engine.domain.causes import Cause
from ivr_engine.domain.model import CallerIdMode, NumberConfig, PromptKind, Strategy
from ivr_engine.domain.numbers import mask, try_normalize
from ivr_engine.domain.planner import (
    AccessStep,
    AnswerStep,
    CallPlan,
    DialStep,
    HangupStep,
    MenuStep,
    PlayStep,
    QueueStep,
    masked_caller,
    plan_call,
)

log = logging.getLogger(__name__)

SCRIPT: Final = "route"  # agi://host:port/route


class IvrVar:
    """The channel variables ``from-carrier-agi`` reads (dialplan/ivr-engine.conf)."""

    ACTION: Final = "IVR_ACTION"
    TARGETS: Final = "IVR_TARGETS"
    STRATEGY: Final = "IVR_STRATEGY"
    RING: Final = "IVR_RING"
    CALLERID: Final = "IVR_CALLERID"
    WHISPER: Final = "IVR_WHISPER"
    PROMPT: Final = "IVR_PROMPT"
    ANSWER: Final = "IVR_ANSWER"
    CAUSE: Final = "IVR_CAUSE"


class RouteAction(StrEnum):
    """``IVR_ACTION`` values; anything but forward / announce / hangup runs the fallback."""

    FORWARD = "forward"
    ANNOUNCE = "announce"
    HANGUP = "hangup"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class RouteVariables:
    """What the dialplan is told to do with one call."""

    action: RouteAction
    targets: tuple[str, ...] = ()
    strategy: str = ""
    ring: tuple[int, ...] = ()
    caller_id: str = ""
    whisper: str = ""
    prompt: str = ""
    answer: bool = False
    cause: int | None = None
    left_out: tuple[str, ...] = ()  # parts of the plan AGI mode does not carry out

    def channel_variables(self) -> list[tuple[str, str]]:
        """Every ``IVR_*`` variable with its value, in the order to set them (action last)."""
        return [
            (IvrVar.TARGETS, "&".join(self.targets)),
            (IvrVar.STRATEGY, self.strategy),
            (IvrVar.RING, "&".join(str(r) for r in self.ring)),
            (IvrVar.CALLERID, self.caller_id),
            (IvrVar.WHISPER, self.whisper),
            (IvrVar.PROMPT, self.prompt),
            (IvrVar.ANSWER, "1" if self.answer else "0"),
            (IvrVar.CAUSE, "" if self.cause is None else str(self.cause)),
            (IvrVar.ACTION, self.action.value),
        ]

    def describe(self) -> str:
        """The decision in a few masked words, for the per-call log line."""
        if self.action is RouteAction.FORWARD:
            joiner = " and " if self.strategy == Strategy.SIMULTANEOUS.value else " then "
            text = f"forward to {joiner.join(mask(t) for t in self.targets)} ({self.strategy})"
        elif self.action in (RouteAction.ANNOUNCE, RouteAction.HANGUP):
            text = f"{self.action.value} {self.prompt or '-'}, cause {self.cause}"
        else:
            text = "fallback (dialplan AstDB)"
        return text + "".join(f"; {note}" for note in self.left_out)


def _sound(uri: str | None) -> str:
    """A ``sound:`` URI as the bare sound name Playback() and Dial's A() take."""
    return "" if uri is None else uri.removeprefix("sound:")


def _forward(
    dial: DialStep, media: PromptMedia, greeting: str = "", answer: bool = False
) -> RouteVariables:
    """Forward variables for a dial step (the coloring is not carried: ARI only)."""
    ring = tuple(t.ring_seconds for t in dial.targets)
    if dial.strategy is Strategy.SIMULTANEOUS and ring:
        ring = (max(ring),)
    whisper = _sound(media.for_prompt(dial.whisper)) if dial.whisper else ""
    notes: tuple[str, ...] = ()
    if dial.coloring is not None:
        notes += ("coloring not played (ARI mode only)",)
    if dial.max_talk_seconds:
        notes += (f"talk-time limit {dial.max_talk_seconds}s not applied (ARI mode only)",)
    return RouteVariables(
        RouteAction.FORWARD,
        tuple(t.number for t in dial.targets),
        dial.strategy.value,
        ring,
        dial.caller_id,
        whisper,
        greeting,
        answer,
        left_out=notes,
    )


def _number_dial(plan: CallPlan, config: NumberConfig | None) -> DialStep | None:
    """The number's own forwarding (for menu and queue plans), None without targets."""
    menu = next((s for s in plan.steps if isinstance(s, MenuStep)), None)
    if menu is not None:
        return menu.dial if menu.dial.targets else None
    if config is None or not config.targets:
        return None
    virtual = config.caller_id is CallerIdMode.VIRTUAL
    return DialStep(
        config.targets,
        config.strategy,
        config.number if virtual else plan.caller.digits,
        None,
        config.prompt(PromptKind.WHISPER),
        config.max_talk_seconds,
        config.caller_id,
    )


def _menu_or_queue(
    plan: CallPlan, media: PromptMedia, config: NumberConfig | None
) -> RouteVariables:
    """AGI mode has no menus or queues: ring the number's targets, else 'cannot be reached'."""
    kinds = {MenuStep: "menu", AccessStep: "access IVR"}
    kind = next((kinds[type(s)] for s in plan.steps if type(s) in kinds), "queue")
    dial = _number_dial(plan, config)
    if dial is not None:
        out = _forward(dial, media)
        note = f"{kind} not run (ARI mode only): ringing the number's targets"
        return replace(out, left_out=(note, *out.left_out))
    return RouteVariables(
        RouteAction.ANNOUNCE,
        prompt=_sound(media.system("cannot-be-reached")),
        cause=Cause.NO_ROUTE_DESTINATION,
        left_out=(f"{kind} not run (ARI mode only) and no forward target",),
    )


def route_variables(
    plan: CallPlan, media: PromptMedia, config: NumberConfig | None = None
) -> RouteVariables:
    """The dialplan variables for a plan (pure). ``config`` supplies the targets of a queue
    plan; a menu plan carries them in its menu step."""
    if any(isinstance(s, MenuStep | QueueStep | AccessStep) for s in plan.steps):
        return _menu_or_queue(plan, media, config)
    answer = any(isinstance(s, AnswerStep) for s in plan.steps)
    plays = [
        _sound(media.choose(s.prompt, s.system_prompt))
        for s in plan.steps
        if isinstance(s, PlayStep)
    ]
    prompt = "&".join(p for p in plays if p)
    dial = plan.dial
    if dial is not None:
        return _forward(dial, media, prompt, answer)
    hangup = next((s for s in plan.steps if isinstance(s, HangupStep)), None)
    cause = hangup.cause if hangup is not None else None
    action = RouteAction.ANNOUNCE if prompt else RouteAction.HANGUP
    return RouteVariables(action, prompt=prompt, answer=answer, cause=cause)


FALLBACK = RouteVariables(RouteAction.FALLBACK)


def called_number(request: AgiRequest) -> str | None:
    """The dialled virtual number in national digits: ``agi_extension``, else ``agi_dnid``;
    None when neither is a phone number."""
    for raw in (request.extension, request.dnid):
        number = try_normalize(raw) if raw else None
        if number:
            return number
    return None


class AgiRouteHandler:
    """The ``route`` FastAGI script: plan the call, set the ``IVR_*`` variables, return.

    ``clock`` gives the planner's "now" (aware); ``planner`` is ``plan_call`` or a wrapper
    of it (e.g. timed by the metrics)."""

    def __init__(
        self,
        configs: ConfigSource,
        media: PromptMedia | None = None,
        *,
        clock: Clock = utc_now,
        planner: Callable[..., CallPlan] = plan_call,
        config_timeout: float = 2.0,
    ) -> None:
        self.configs = configs
        self.media = media if media is not None else PromptMedia()
        self.clock = clock
        self.planner = planner
        self.config_timeout = config_timeout

    @classmethod
    def for_env(cls, env: CallEnv) -> AgiRouteHandler:
        """The handler sharing the ARI sessions' configuration source, prompt names,
        clock, planner and configuration timeout (read on every call, so replacing
        ``env.clock`` or ``env.planner`` later applies here too)."""
        return cls(
            env.configs,
            env.media,
            clock=lambda: env.clock(),
            planner=lambda *args: env.planner(*args),
            config_timeout=env.config_timeout,
        )

    async def __call__(self, channel: AgiChannel) -> None:
        """Handle one ``AGI(agi://.../route)``."""
        route = await self.decide(channel.request)
        for name, value in route.channel_variables():
            await channel.set_variable(name, value)

    async def decide(self, request: AgiRequest) -> RouteVariables:
        """The variables for the call ``request`` describes; logs one masked line."""
        number = called_number(request)
        caller = request.callerid
        who = f"{mask(caller)} [{request.uniqueid or '-'}]"
        if number is None:
            log.warning(
                "AGI route: dialled number %s from %s is not a phone number -> %s",
                mask(request.extension),
                who,
                FALLBACK.describe(),
            )
            return FALLBACK
        try:
            config = await self._config(number)
        except ConfigUnavailable as exc:
            log.warning(
                "AGI route: %s from %s: configuration unavailable (%s) -> %s",
                mask(number),
                who,
                exc,
                FALLBACK.describe(),
            )
            return FALLBACK
        plan = self.planner(config, caller, number, self.clock())
        route = route_variables(plan, self.media, config)
        log.info(
            "AGI route: %s from %s [%s]: %s -> %s",
            mask(number),
            masked_caller(plan.caller),
            request.uniqueid or "-",
            plan.state.value,
            route.describe(),
        )
        return route

    async def _config(self, number: str) -> NumberConfig | None:
        """The number's configuration; the last known copy while the database is down."""
        return await load_config(self.configs, number, self.config_timeout)
