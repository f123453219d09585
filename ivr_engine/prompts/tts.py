"""Text to speech: espeak-ng offline (the default) or Google TTS online, with a fallback.

A synthesiser writes a raw audio file for one text; ``audio.convert_file`` then makes it an
Asterisk sound. gTTS needs the internet: before a build, ``GttsSynth.reachable()`` probes
its host with a short connect timeout, and when it is unreachable (or a request fails) the
builder speaks the text with espeak-ng instead and says so.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

ESPEAK_BINARIES = ("espeak-ng", "espeak")
ESPEAK_TIMEOUT_S = 60.0
GTTS_HOST = "translate.google.com"
GTTS_PORT = 443


class TtsError(Exception):
    """A text could not be spoken; the message says why."""


class Synth(Protocol):
    """Writes speech for one text into a file (any format pydub decodes)."""

    engine: str

    def synthesise(self, text: str, voice: str, out: Path) -> Path:
        """Speak ``text`` with ``voice`` into a file under ``out`` (a path without a known
        extension); returns the file written."""
        ...


@dataclass
class EspeakSynth:
    """espeak-ng, run as ``espeak-ng -v <voice> -w <file.wav> -- <text>``. Offline, fast."""

    binary: str | None = None
    speed_wpm: int = 150
    engine: str = "espeak"

    def _binary(self) -> str:
        """The espeak-ng executable, or TtsError when it is not installed."""
        if self.binary:
            return self.binary
        for name in ESPEAK_BINARIES:
            found = shutil.which(name)
            if found:
                self.binary = found
                return found
        raise TtsError("espeak-ng is not installed (apt-get install espeak-ng)")

    def synthesise(self, text: str, voice: str, out: Path) -> Path:
        """Speak ``text`` into ``out.wav`` (espeak's own 22 kHz WAV)."""
        dest = out.with_suffix(".wav")
        cmd = [self._binary(), "-v", voice, "-s", str(self.speed_wpm), "-w", str(dest), "--", text]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=ESPEAK_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TtsError(f"espeak-ng took longer than {ESPEAK_TIMEOUT_S:.0f} s") from exc
        if proc.returncode != 0 or not dest.is_file():
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise TtsError(f"espeak-ng failed ({proc.returncode}): {err[0] if err else ''}")
        return dest


@dataclass
class GttsSynth:
    """Google Translate's TTS through gTTS (MP3 out). Needs the internet."""

    host: str = GTTS_HOST
    port: int = GTTS_PORT
    timeout_s: float = 3.0
    engine: str = "gtts"

    def reachable(self) -> bool:
        """True when a TCP connection to the TTS host opens within the timeout."""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s):
                return True
        except OSError:
            return False

    def synthesise(self, text: str, voice: str, out: Path) -> Path:
        """Speak ``text`` into ``out.mp3``; TtsError on any network or service failure."""
        from gtts import gTTS  # imported late: it pulls in requests, not needed offline

        dest = out.with_suffix(".mp3")
        try:
            gTTS(text=text, lang=voice, timeout=self.timeout_s).save(str(dest))
        except Exception as exc:  # gTTSError, requests errors, ValueError for bad languages
            raise TtsError(f"gTTS failed: {str(exc).splitlines()[0][:200]}") from exc
        return dest


@dataclass
class FallbackSynth:
    """Tries ``primary`` and, when it fails, speaks with ``fallback`` and logs a warning.
    ``used`` tells the caller which engine actually spoke the last text."""

    primary: Synth
    fallback: Synth
    warn: bool = True  # False when the build already warned once for every prompt
    engine: str = ""

    def __post_init__(self) -> None:
        """The engine tag is the primary's: names do not change when a fallback speaks."""
        self.engine = self.primary.engine

    def synthesise_with(self, text: str, voice: str, out: Path) -> tuple[Path, str]:
        """Speak ``text``; returns the file and the engine that produced it."""
        try:
            return self.primary.synthesise(text, voice, out), self.primary.engine
        except TtsError as exc:
            if self.warn:
                log.warning(
                    "%s unavailable (%s); speaking with %s instead",
                    self.primary.engine,
                    exc,
                    self.fallback.engine,
                )
            return self.fallback.synthesise(text, voice, out), self.fallback.engine

    def synthesise(self, text: str, voice: str, out: Path) -> Path:
        """Speak ``text`` with the primary or the fallback engine."""
        return self.synthesise_with(text, voice, out)[0]


def choose_synth(engine: str, gtts: GttsSynth | None = None) -> tuple[Synth, str | None]:
    """The synthesiser for a build of ``engine`` prompts, and a warning when gTTS was asked
    for but is unreachable (the build then speaks with espeak-ng)."""
    espeak = EspeakSynth()
    if engine != "gtts":
        return espeak, None
    gtts = gtts or GttsSynth()
    if not gtts.reachable():
        return (
            FallbackSynth(_Unreachable(gtts.host), espeak, warn=False),
            f"gTTS host {gtts.host}:{gtts.port} unreachable; prompts are spoken with "
            "espeak-ng and rebuilt with gTTS once it is reachable",
        )
    return FallbackSynth(gtts, espeak), None


@dataclass
class _Unreachable:
    """A stand-in for gTTS when its host did not answer the probe: fails at once."""

    host: str
    engine: str = "gtts"

    def synthesise(self, text: str, voice: str, out: Path) -> Path:
        """Always fails, so the fallback speaks."""
        raise TtsError(f"{self.host} unreachable")
