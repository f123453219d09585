"""From prompts in the configuration to the ARI media URIs the engine plays.

The names come from ``prompts.names`` so the builder (``ivr-engine prompts build``) and the
call engine always agree on where a prompt's sound is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr_engine.domain.model import Prompt
from ivr_engine.prompts.names import (
    DEFAULT_ENGINE,
    DEFAULT_VOICE,
    SYSTEM_PROMPTS,
    sound_name,
    sound_uri,
    system_sound_name,
)


@dataclass(frozen=True)
class PromptMedia:
    """Maps prompts and system prompt names to ``sound:`` URIs for one voice and engine."""

    voice: str = DEFAULT_VOICE
    engine: str = DEFAULT_ENGINE

    def for_prompt(self, prompt: Prompt) -> str:
        """The media URI of a configured prompt (text via TTS, or an audio file)."""
        return sound_uri(sound_name(prompt, self.voice, self.engine))

    def system(self, name: str) -> str:
        """The media URI of a shipped system prompt; an unknown name falls back to the
        generic "cannot be reached" so a caller always hears something."""
        if name not in SYSTEM_PROMPTS:
            name = "cannot-be-reached"
        return sound_uri(system_sound_name(name))

    def choose(self, prompt: Prompt | None, system_name: str | None) -> str | None:
        """The number's own prompt if it has one, else the system prompt, else None."""
        if prompt is not None:
            return self.for_prompt(prompt)
        if system_name is not None:
            return self.system(system_name)
        return None
