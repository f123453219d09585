"""Sound lookup and media lengths, as Asterisk resolves ``sound:`` names (section F).

A playback lasts as long as the real file: WAV headers are read for their length, raw
``sln``/``ulaw``/``alaw``/``gsm``/``g722`` files are sized by their byte rate. Names come
without extension; relative names are looked up in each sounds directory under the requested
language (``ko_KR``), then the stripped language (``ko``), then no language, then ``en``.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from pathlib import Path

# Extension -> bytes per second of 8 kHz audio (None: read the header).
_FORMATS: dict[str, int | None] = {
    "wav": None,
    "sln": 16000,
    "ulaw": 8000,
    "alaw": 8000,
    "gsm": 1650,
    "g722": 8000,
    "sln16": 32000,
    "wav16": None,
}
# Nominal length of one spoken character for digits:/number:/characters: media.
SPOKEN_CHAR_SECONDS = 0.5


@dataclass(frozen=True)
class Media:
    """One media URI resolved: scheme, length (None = until stopped), whether it exists."""

    uri: str
    scheme: str
    found: bool
    seconds: float | None
    path: str = ""


def file_seconds(path: Path) -> float:
    """Length of a sound file in seconds, from its header or size."""
    ext = path.suffix.lstrip(".")
    rate = _FORMATS.get(ext)
    if rate is None:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate() or 8000)
    return path.stat().st_size / float(rate)


class SoundLibrary:
    """Finds sound files in the configured directories and tells how long media plays."""

    def __init__(self, dirs: tuple[str, ...] | list[str], recordings_dir: str = "") -> None:
        self.dirs = [Path(d) for d in dirs]
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self._cache: dict[tuple[str, str], Path | None] = {}

    @staticmethod
    def _languages(lang: str) -> list[str]:
        order = [lang] if lang else []
        if "_" in lang:
            order.append(lang.split("_", 1)[0])
        order.append("")
        if "en" not in order:
            order.append("en")
        return order

    def find(self, name: str, lang: str = "en") -> Path | None:
        """The file a sound name resolves to, or None (the playback then fails)."""
        key = (name, lang)
        if key in self._cache:
            return self._cache[key]
        found: Path | None = None
        if os.path.isabs(name):
            found = self._with_ext(Path(name))
        else:
            for base in self.dirs:
                for language in self._languages(lang):
                    found = self._with_ext(base / language / name if language else base / name)
                    if found:
                        break
                if found:
                    break
        self._cache[key] = found
        return found

    @staticmethod
    def _with_ext(stem: Path) -> Path | None:
        for ext in _FORMATS:
            candidate = stem.with_name(stem.name + "." + ext)
            if candidate.is_file():
                return candidate
        return None

    def resolve(self, uri: str, lang: str = "en") -> Media | None:
        """Resolve one media URI; None for an unknown scheme (Asterisk skips it silently)."""
        scheme, _, rest = uri.partition(":")
        if scheme == "sound":
            path = self.find(rest, lang)
            if path is None:
                return Media(uri, scheme, False, 0.0)
            return Media(uri, scheme, True, file_seconds(path), str(path))
        if scheme == "recording":
            base = self.recordings_dir
            path = self._with_ext(base / rest) if base else None
            if path is None:
                return Media(uri, scheme, False, 0.0)
            return Media(uri, scheme, True, file_seconds(path), str(path))
        if scheme == "tone":
            return Media(uri, scheme, True, None)
        if scheme in ("digits", "number", "characters"):
            return Media(uri, scheme, True, max(1, len(rest)) * SPOKEN_CHAR_SECONDS)
        return None
