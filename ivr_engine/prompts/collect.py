"""Every prompt a configuration document uses, with where it appears.

The builder needs the complete list (tenant defaults, each number, coloring per schedule
state, whisper, block periods, holidays); the error for a bad prompt names its place, such
as ``tenant acme / number 05012345678 / prompts.greeting``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ivr_engine.domain.ivr import menu_prompts
from ivr_engine.domain.model import ConfigDocument, NumberSettings, Prompt
from ivr_engine.errors import ConfigError


@dataclass(frozen=True)
class PromptRef:
    """One prompt and the place in the configuration where it is used."""

    where: str
    prompt: Prompt


def _settings_prompts(settings: NumberSettings, where: str) -> Iterator[PromptRef]:
    """The prompts of one settings layer (tenant defaults or one number)."""
    for kind, prompt in settings.prompts or ():
        yield PromptRef(f"{where} / prompts.{kind.value}", prompt)
    if settings.schedule is not None:
        for period in settings.schedule.block_periods:
            if period.prompt is not None:
                yield PromptRef(f"{where} / block_periods[{period.name}].prompt", period.prompt)
    for holiday in settings.holidays or ():
        if holiday.prompt is not None:
            yield PromptRef(f"{where} / holidays[{holiday.name}].prompt", holiday.prompt)
    for place, prompt in menu_prompts(settings.menus or ()):
        yield PromptRef(f"{where} / {place}", prompt)
    for queue in settings.queues or ():
        for name, prompt in (
            ("coloring", queue.coloring),
            ("announcement", queue.announcement),
            ("overflow.prompt", queue.overflow.prompt),
        ):
            if prompt is not None:
                yield PromptRef(f"{where} / queues[{queue.id}].{name}", prompt)


def iter_prompts(doc: ConfigDocument) -> Iterator[PromptRef]:
    """Every prompt in the document, in document order (duplicates included)."""
    for tenant in doc.tenants:
        base = f"tenant {tenant.id}"
        yield from _settings_prompts(tenant.defaults, f"{base} / defaults")
        for entry in tenant.numbers:
            yield from _settings_prompts(entry.settings, f"{base} / number {entry.number}")


def load_document(path: Path) -> ConfigDocument:
    """Read a YAML configuration document (the file ``ivr-engine load`` imports)."""
    import yaml

    from ivr_engine.config_yaml import load_yaml
    from ivr_engine.domain.config_doc import parse_document

    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_document(data, str(path))
