"""Audio conversion to what Asterisk plays natively: RIFF WAV, 8 kHz, mono, 16-bit PCM.

pydub does the decoding (ffmpeg for mp3 and friends), resampling and gain; the standard
``wave`` module checks results. Files are written to a temporary name and renamed, so a
reader (Asterisk, a second build) never sees half a file.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # pydub imports the stdlib audioop module, deprecated since Python 3.11.
    warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
    from pydub import AudioSegment

SAMPLE_RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit signed PCM
TARGET_DBFS = -18.0  # average loudness after normalising
PEAK_HEADROOM_DB = 1.0  # never push the peak above -1 dBFS
MIN_DURATION_MS = 100
FILE_MODE = 0o644


@dataclass(frozen=True)
class WavInfo:
    """What a built sound file is: its format and length."""

    rate: int
    channels: int
    sample_width: int
    frames: int

    @property
    def duration_ms(self) -> int:
        """Length in milliseconds."""
        return round(self.frames * 1000 / self.rate) if self.rate else 0

    @property
    def asterisk_native(self) -> bool:
        """True for the one WAV flavour Asterisk reads as ``.wav``: 8 kHz mono 16-bit."""
        return (self.rate, self.channels, self.sample_width) == (
            SAMPLE_RATE,
            CHANNELS,
            SAMPLE_WIDTH,
        )


class AudioError(Exception):
    """An input could not be decoded or converted; the message says why."""


def wav_info(path: Path) -> WavInfo | None:
    """Read a WAV header; None when the file is missing or not a readable RIFF WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            return WavInfo(
                wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()
            )
    except (OSError, EOFError, wave.Error):
        return None


def is_valid_sound(path: Path) -> bool:
    """True when ``path`` is an Asterisk-native WAV of at least ``MIN_DURATION_MS``."""
    info = wav_info(path)
    return info is not None and info.asterisk_native and info.duration_ms >= MIN_DURATION_MS


def to_telephony(segment: AudioSegment, normalise: bool = True) -> AudioSegment:
    """Resample to 8 kHz mono 16-bit and bring the loudness to a common level."""
    seg = segment.set_channels(CHANNELS).set_frame_rate(SAMPLE_RATE).set_sample_width(SAMPLE_WIDTH)
    if normalise and seg.max_dBFS != -math.inf:
        gain = min(TARGET_DBFS - seg.dBFS, -PEAK_HEADROOM_DB - seg.max_dBFS)
        seg = seg.apply_gain(gain)
    return seg


def decode(path: Path) -> AudioSegment:
    """Decode any audio file pydub/ffmpeg understands; AudioError when it cannot."""
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    fmt = path.suffix.lower().lstrip(".") or None
    try:
        # An open file object: pydub leaves files it opens itself unclosed.
        with path.open("rb") as fh:
            return AudioSegment.from_file(fh, format=fmt)
    except Exception as exc:  # pydub raises many kinds (CouldntDecodeError, OSError, ...)
        raise AudioError(f"cannot decode {path.name}: {str(exc).splitlines()[0][:200]}") from exc


def write_atomic(segment: AudioSegment, dest: Path) -> WavInfo:
    """Write ``segment`` as a WAV at ``dest`` through a temporary file and a rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}-", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, wave.open(fh, "wb") as wav:
            wav.setnchannels(segment.channels)
            wav.setsampwidth(segment.sample_width)
            wav.setframerate(segment.frame_rate)
            wav.writeframes(segment.raw_data)
        info = wav_info(tmp)
        if info is None or not info.asterisk_native:
            raise AudioError(f"converted audio for {dest.name} is not 8 kHz mono 16-bit")
        os.chmod(tmp, FILE_MODE)  # Asterisk runs as its own user and must read the file
        os.replace(tmp, dest)
        return info
    finally:
        tmp.unlink(missing_ok=True)


def convert_file(src: Path, dest: Path, normalise: bool = True) -> WavInfo:
    """Convert an uploaded or synthesised audio file into an Asterisk sound at ``dest``."""
    seg = to_telephony(decode(src), normalise)
    if len(seg) < MIN_DURATION_MS:
        raise AudioError(f"{src.name} is too short ({len(seg)} ms)")
    return write_atomic(seg, dest)


def chime(
    notes: tuple[float, ...] = (659.25, 523.25, 587.33, 392.0),
    note_ms: int = 380,
    gap_ms: int = 70,
    tail_ms: int = 1600,
) -> AudioSegment:
    """A soft bell-like melody followed by silence: the default coloring, looped by the
    engine while the target rings. Decaying sine notes with a gentle octave overtone."""
    frames = bytearray()
    for freq in notes:
        n = SAMPLE_RATE * note_ms // 1000
        for i in range(n):
            t = i / SAMPLE_RATE
            env = math.exp(-4.0 * t) * min(1.0, i / 80)  # short attack, bell decay
            value = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)
            frames += struct.pack("<h", int(9000 * env * value))
        frames += bytes(2 * SAMPLE_RATE * gap_ms // 1000)
    frames += bytes(2 * SAMPLE_RATE * tail_ms // 1000)
    return AudioSegment(
        data=bytes(frames), sample_width=SAMPLE_WIDTH, frame_rate=SAMPLE_RATE, channels=CHANNELS
    )
