"""The sound manifest: ``<sounds>/ivr/manifest.json``, one entry per built sound.

It records what each file says (text, voice, engine that spoke it, duration), which lets
``ivr-engine prompts list`` show the sounds, the engine check that a sound exists without
touching the disk per call, and the builder notice when a file must be rebuilt (an upload
changed, or gTTS was unreachable and espeak-ng spoke instead).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ivr_engine.prompts.names import SYSTEM_PROMPTS, system_sound_name

MANIFEST_NAME = "ivr/manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    """One built sound: what it says and how it was made."""

    kind: str  # tts | audio | tone
    text: str | None = None
    voice: str | None = None
    engine: str | None = None  # the engine that produced the audio
    requested_engine: str | None = None  # the engine tag in the name
    duration_ms: int = 0
    source: str | None = None  # the upload path as written in the configuration
    source_sha256: str | None = None

    @property
    def provisional(self) -> bool:
        """True when a fallback engine spoke it; rebuilt once the requested one works."""
        return self.kind == "tts" and self.engine != self.requested_engine


def manifest_path(sounds_dir: Path) -> Path:
    """Where the manifest of a sounds directory lives."""
    return sounds_dir / MANIFEST_NAME


def _entry(raw: Any) -> ManifestEntry | None:
    """One entry from JSON; None when it is not a well-formed entry."""
    if not isinstance(raw, dict):
        return None
    known = {k: v for k, v in raw.items() if k in ManifestEntry.__dataclass_fields__}
    try:
        return ManifestEntry(**known)
    except TypeError:
        return None


def load_manifest(sounds_dir: Path) -> dict[str, ManifestEntry]:
    """The manifest as a dict of sound name -> entry; empty when missing or unreadable."""
    try:
        raw = json.loads(manifest_path(sounds_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    entries = {name: _entry(value) for name, value in raw.items()}
    return {name: e for name, e in entries.items() if e is not None}


def save_manifest(sounds_dir: Path, entries: dict[str, ManifestEntry]) -> Path:
    """Write the manifest atomically (temporary file, then rename), sorted by name."""
    path = manifest_path(sounds_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        name: {k: v for k, v in asdict(e).items() if v is not None}
        for name, e in sorted(entries.items())
    }
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def prompt_texts(sounds_dir: Path) -> dict[str, str]:
    """What each known sound says, by sound name: every built TTS prompt in the manifest
    and the shipped system prompts (tones have no text and are left out)."""
    texts = {system_sound_name(name): text for name, text in SYSTEM_PROMPTS.items() if text}
    texts.update({name: e.text for name, e in load_manifest(sounds_dir).items() if e.text})
    return texts
