"""Stable names for prompt sounds: what the engine plays and what the builder writes.

A text prompt is named by a hash of its text, the TTS voice and the TTS engine, so the same
announcement is synthesised once and shared by every number that uses it. An uploaded audio
file is named by a hash of its path as written in the configuration. Names are relative to
the sounds directory and carry no extension: Asterisk picks the file format itself
(``sound:ivr/tts-0123abcd...`` plays ``<sounds>/ivr/tts-0123abcd....wav``).

Pure functions only: the engine calls these on every call, the builder once per prompt.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import PurePosixPath

from ivr_engine.domain.model import Prompt

SOUND_PREFIX = "ivr"
SYSTEM_DIR = f"{SOUND_PREFIX}/system"
ENGINES = ("espeak", "gtts")
DEFAULT_VOICE = "ko"
DEFAULT_ENGINE = "espeak"

# Extensions of uploaded audio files that the builder converts; any other ``audio`` value is
# taken as an Asterisk sound name that already exists on the Asterisk box.
UPLOAD_EXTENSIONS = (".wav", ".mp3", ".ogg", ".flac", ".m4a")

# Korean system prompts shipped in sounds/ivr/system/. Keys are the names the planner uses.
SYSTEM_PROMPTS: dict[str, str] = {
    "cannot-be-reached": "지금은 전화를 받을 수 없습니다. 잠시 후 다시 걸어 주십시오.",
    "temporarily-unavailable": "고객님의 사정으로 당분간 통화가 중지된 번호입니다.",
    "not-in-service": "지금 거신 번호는 없는 번호입니다. 다시 확인하시고 걸어 주십시오.",
    "after-hours": "지금은 업무 시간이 아닙니다. 업무 시간에 다시 걸어 주십시오.",
    "lunch": "지금은 점심 시간입니다. 잠시 후 다시 걸어 주십시오.",
    "holiday": "오늘은 휴무일입니다. 다음 영업일에 다시 걸어 주십시오.",
    "block-period": "지금은 전화를 받을 수 없는 시간입니다. 잠시 후 다시 걸어 주십시오.",
    "blocked-caller": "죄송합니다. 지금은 연결할 수 없습니다.",
    "queue-wait": "모든 상담원이 통화중입니다. 잠시만 기다려 주십시오.",
    "invalid-choice": "잘못 누르셨습니다. 다시 선택해 주십시오.",
    "goodbye": "이용해 주셔서 감사합니다. 안녕히 계십시오.",
    "connecting": "고객님께 연결하고 있습니다. 잠시만 기다려 주십시오.",
    "access-menu": "거실 번호를 누르신 후 우물 정자를 눌러 주십시오. "
    "마지막으로 전화하신 고객님께 거시려면 1번을 눌러 주십시오.",
    "access-not-member": "등록된 휴대전화가 아닙니다. 등록된 번호로 걸어 주십시오.",
    "access-refused": "요청하신 번호로는 연결할 수 없습니다.",
    "access-no-caller": "최근에 전화하신 고객님이 없습니다.",
    "default-coloring": "",  # a synthesised chime, not speech
}

# System prompts made from tones rather than speech.
TONE_PROMPTS = frozenset({"default-coloring"})


def normalise_text(text: str) -> str:
    """The canonical form of a prompt text: NFC, surrounding space trimmed, inner runs of
    white space collapsed. Two texts that read the same get the same sound."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _digest(*parts: str) -> str:
    """The first 16 hex digits of the SHA-256 of the parts joined by NUL."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def is_upload(audio: str) -> bool:
    """True when an ``audio`` value names a file to convert, not an existing sound name."""
    return PurePosixPath(audio.replace("\\", "/")).suffix.lower() in UPLOAD_EXTENSIONS


def tts_sound_name(text: str, voice: str = DEFAULT_VOICE, engine: str = DEFAULT_ENGINE) -> str:
    """The sound name of a text spoken by ``engine`` with ``voice``."""
    if engine not in ENGINES:
        raise ValueError(f"unknown TTS engine {engine!r}; expected one of {ENGINES}")
    return f"{SOUND_PREFIX}/tts-{_digest(normalise_text(text), voice, engine)}"


def audio_sound_name(audio: str) -> str:
    """The sound name of an ``audio`` value: uploads get ``ivr/audio-<hash of the path>``;
    anything else is already an Asterisk sound name and is returned as is (a ``sound:``
    prefix and a file extension are dropped)."""
    value = audio.strip()
    if is_upload(value):
        return f"{SOUND_PREFIX}/audio-{_digest(value)}"
    value = value.removeprefix("sound:")
    return value


def sound_name(prompt: Prompt, voice: str = DEFAULT_VOICE, engine: str = DEFAULT_ENGINE) -> str:
    """The sound the engine plays for a prompt (relative to the sounds dir, no extension)."""
    if prompt.text is not None:
        return tts_sound_name(prompt.text, voice, engine)
    if prompt.audio is not None:
        return audio_sound_name(prompt.audio)
    raise ValueError("a prompt needs a text or an audio file")


def system_sound_name(name: str) -> str:
    """The sound name of a shipped system prompt, e.g. ``ivr/system/cannot-be-reached``."""
    if name not in SYSTEM_PROMPTS:
        raise KeyError(f"unknown system prompt {name!r}")
    return f"{SYSTEM_DIR}/{name}"


def sound_uri(name: str) -> str:
    """The ARI media URI of a sound name: ``sound:<name>``."""
    return f"sound:{name}"


def engine_for(engine: str, gtts_enabled: bool = False) -> str:
    """The engine tag a deployment uses: ``gtts`` when chosen or switched on, else ``espeak``.

    Both the builder and the call engine pass their settings through this, so they agree on
    every name (``engine_for(s.prompts.engine, s.prompts.gtts_enabled)``)."""
    return "gtts" if engine == "gtts" or gtts_enabled else "espeak"
