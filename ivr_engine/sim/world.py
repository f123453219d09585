"""The simulated world: Asterisk's core plus media and calls, in one object."""

from __future__ import annotations

from ivr_engine.sim.ari_events import AppRegistry
from ivr_engine.sim.behaviour import Behaviour
from ivr_engine.sim.calls import CallsMixin
from ivr_engine.sim.clock import SimClock
from ivr_engine.sim.core import WorldCore
from ivr_engine.sim.media import MediaMixin
from ivr_engine.sim.sounds import SoundLibrary


class World(CallsMixin, MediaMixin, WorldCore):
    """Channels, bridges, playbacks and the scripted carrier around one simulated Asterisk."""

    def __init__(
        self,
        clock: SimClock,
        sounds: SoundLibrary,
        registry: AppRegistry,
        *,
        trunk: str = "carrier",
        inbound_context: str = "from-carrier",
        language: str = "en",
        host: str = "127.0.0.1",
        default_behaviour: Behaviour | None = None,
        stasis_start_delay: float = 0.002,
        destroy_delay: float = 0.0,
    ) -> None:
        super().__init__(
            clock,
            sounds,
            registry,
            trunk=trunk,
            inbound_context=inbound_context,
            language=language,
            host=host,
            stasis_start_delay=stasis_start_delay,
            destroy_delay=destroy_delay,
        )
        self.behaviours: dict[str, Behaviour] = {}
        self.default_behaviour = default_behaviour or Behaviour.answer_after(1.0)
