"""Building sounds for real: espeak-ng, pydub and ffmpeg, into a temporary sounds dir."""

import logging
import socket
import wave
from pathlib import Path

import pytest

from ivr_engine.domain.model import (
    BlockPeriod,
    ConfigDocument,
    Holiday,
    Interval,
    NumberEntry,
    NumberSettings,
    Prompt,
    PromptKind,
    Schedule,
    TenantConfig,
)
from ivr_engine.prompts.audio import SAMPLE_RATE, chime, write_atomic
from ivr_engine.prompts.build import BUILT, CACHED, FAILED, build_sounds, plan_jobs, say
from ivr_engine.prompts.collect import iter_prompts
from ivr_engine.prompts.manifest import load_manifest
from ivr_engine.prompts.names import sound_name
from ivr_engine.prompts.progress import Progress
from ivr_engine.prompts.tts import (
    EspeakSynth,
    FallbackSynth,
    GttsSynth,
    TtsError,
    choose_synth,
)

HELLO = "안녕하세요"
BYE = "감사합니다"


def doc_with(
    *prompts: tuple[PromptKind, Prompt], block: Prompt | None = None, holiday: Prompt | None = None
) -> ConfigDocument:
    """A one-tenant document: defaults carry ``prompts``; a number adds block and holiday."""
    from datetime import time

    number = NumberSettings(
        prompts=((PromptKind.GREETING, Prompt(text=HELLO)),),
        schedule=Schedule(
            block_periods=(
                BlockPeriod("meeting", frozenset({0}), Interval(time(9), time(10)), block),
            )
        ),
        holidays=(Holiday(5, 5, "company day", prompt=holiday),),
    )
    return ConfigDocument(
        tenants=(
            TenantConfig(
                id="acme",
                name="Acme",
                defaults=NumberSettings(prompts=prompts),
                numbers=(NumberEntry("05012345678", number),),
            ),
        )
    )


def read_wav(path: Path) -> tuple[int, int, int, float]:
    """(rate, channels, sample width, seconds) of a WAV file."""
    with wave.open(str(path), "rb") as wav:
        return (
            wav.getframerate(),
            wav.getnchannels(),
            wav.getsampwidth(),
            wav.getnframes() / wav.getframerate(),
        )


def refused_port() -> int:
    """A local TCP port nobody listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet() -> Progress:
    """A progress display that draws nothing."""
    return Progress(0, enabled=False)


def test_every_prompt_is_collected_with_its_place() -> None:
    doc = doc_with(
        (PromptKind.WHISPER, Prompt(text=BYE)),
        block=Prompt(text="회의 중"),
        holiday=Prompt(text="휴일"),
    )
    places = [ref.where for ref in iter_prompts(doc)]
    assert places == [
        "tenant acme / defaults / prompts.whisper",
        "tenant acme / number 05012345678 / prompts.greeting",
        "tenant acme / number 05012345678 / block_periods[meeting].prompt",
        "tenant acme / number 05012345678 / holidays[company day].prompt",
    ]


def test_build_makes_asterisk_wavs_once(tmp_path: Path) -> None:
    doc = doc_with(
        (PromptKind.COLORING_OPEN, Prompt(text=HELLO)), (PromptKind.WHISPER, Prompt(text=BYE))
    )
    jobs, refused = plan_jobs(iter_prompts(doc), "ko", "espeak", tmp_path)
    assert refused == [] and len(jobs) == 2  # the shared greeting is spoken once
    report = build_sounds(jobs, tmp_path, progress=quiet())
    assert (report.count(BUILT), report.count(FAILED)) == (2, 0), report.summary()
    for job in jobs:
        rate, channels, width, seconds = read_wav(tmp_path / f"{job.name}.wav")
        assert (rate, channels, width) == (8000, 1, 2)
        assert seconds > 0.3
    entry = load_manifest(tmp_path)[sound_name(Prompt(text=HELLO))]
    assert (entry.text, entry.engine, entry.voice) == (HELLO, "espeak", "ko")
    assert entry.duration_ms > 300

    again = build_sounds(jobs, tmp_path, progress=quiet())
    assert (again.count(BUILT), again.count(CACHED)) == (0, 2)
    forced = build_sounds(jobs, tmp_path, force=True, progress=quiet())
    assert forced.count(BUILT) == 2


def test_a_broken_file_is_rebuilt(tmp_path: Path) -> None:
    jobs, _ = plan_jobs(iter_prompts(doc_with()), "ko", "espeak", tmp_path)
    target = jobs[0].path(tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"RIFF not really")
    report = build_sounds(jobs, tmp_path, progress=quiet())
    assert report.count(BUILT) == 1
    assert read_wav(target)[0] == SAMPLE_RATE


def test_over_long_text_is_refused_naming_its_place(tmp_path: Path) -> None:
    doc = doc_with((PromptKind.AFTER_HOURS, Prompt(text="가" * 241)))
    jobs, refused = plan_jobs(iter_prompts(doc), "ko", "espeak", tmp_path)
    assert len(jobs) == 1  # the greeting still builds
    assert len(refused) == 1 and refused[0].status == FAILED
    assert "tenant acme / defaults / prompts.after_hours" in refused[0].reason
    assert "241 characters; the limit is 240" in refused[0].reason


def test_gtts_unreachable_falls_back_to_espeak(tmp_path: Path) -> None:
    gtts = GttsSynth(host="127.0.0.1", port=refused_port(), timeout_s=0.5)
    assert not gtts.reachable()
    jobs, _ = plan_jobs(iter_prompts(doc_with()), "ko", "gtts", tmp_path)
    report = build_sounds(jobs, tmp_path, engine="gtts", gtts=gtts, progress=quiet())
    assert report.count(BUILT) == 1
    assert "unreachable" in report.warnings[0]
    assert jobs[0].name == sound_name(Prompt(text=HELLO), engine="gtts")
    entry = load_manifest(tmp_path)[jobs[0].name]
    assert (entry.engine, entry.requested_engine, entry.provisional) == ("espeak", "gtts", True)
    # Still unreachable: the espeak-ng stand-in is kept rather than spoken again.
    again = build_sounds(jobs, tmp_path, engine="gtts", gtts=gtts, progress=quiet())
    assert again.count(CACHED) == 1


def test_provisional_sound_is_rebuilt_when_the_engine_works(tmp_path: Path) -> None:
    gtts = GttsSynth(host="127.0.0.1", port=refused_port(), timeout_s=0.5)
    jobs, _ = plan_jobs(iter_prompts(doc_with()), "ko", "gtts", tmp_path)
    build_sounds(jobs, tmp_path, engine="gtts", gtts=gtts, progress=quiet())
    stand_in = EspeakSynth(engine="gtts")  # plays the part of a reachable gTTS
    report = build_sounds(jobs, tmp_path, engine="gtts", synth=stand_in, progress=quiet())
    assert report.count(BUILT) == 1
    assert not load_manifest(tmp_path)[jobs[0].name].provisional


class FailingSynth:
    """A primary engine that always fails, as gTTS does when a request is cut."""

    engine = "gtts"

    def synthesise(self, text: str, voice: str, out: Path) -> Path:
        raise TtsError("connection reset")


def test_failed_request_falls_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    synth = FallbackSynth(FailingSynth(), EspeakSynth())
    with caplog.at_level(logging.WARNING):
        raw, used = synth.synthesise_with(BYE, "ko", tmp_path / "x")
    assert used == "espeak" and raw.is_file()
    assert "gtts unavailable (connection reset)" in caplog.text


def test_choose_synth_warns_only_for_unreachable_gtts() -> None:
    espeak, warning = choose_synth("espeak")
    assert espeak.engine == "espeak" and warning is None
    fallback, warning = choose_synth("gtts", GttsSynth("127.0.0.1", refused_port(), 0.5))
    assert fallback.engine == "gtts" and warning and "unreachable" in warning


def make_tone_wav(path: Path, rate: int, channels: int, seconds: float) -> None:
    """A stereo or mono 16-bit WAV with a tone in it."""
    seg = chime(note_ms=int(seconds * 250), tail_ms=0).set_frame_rate(rate)
    seg = seg.set_channels(channels)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(seg.raw_data)


def test_uploads_are_converted(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    make_tone_wav(uploads / "hifi.wav", 44100, 2, 1.0)
    assert read_wav(uploads / "hifi.wav")[:2] == (44100, 2)
    chime(note_ms=200, tail_ms=0).export(str(uploads / "tune.mp3"), format="mp3").close()
    doc = doc_with(
        (PromptKind.COLORING_OPEN, Prompt(audio="uploads/hifi.wav")),
        (PromptKind.GREETING, Prompt(audio=str(uploads / "tune.mp3"))),
        (PromptKind.LUNCH, Prompt(audio="custom/existing-sound")),
    )
    jobs, _ = plan_jobs(iter_prompts(doc), "ko", "espeak", tmp_path)
    assert sorted(j.kind for j in jobs) == ["audio", "audio", "tts"]
    report = build_sounds(jobs, tmp_path / "sounds", progress=quiet())
    assert report.count(FAILED) == 0, report.summary()
    for audio in ("uploads/hifi.wav", str(uploads / "tune.mp3")):
        rate, channels, width, seconds = read_wav(
            tmp_path / "sounds" / f"{sound_name(Prompt(audio=audio))}.wav"
        )
        assert (rate, channels, width) == (8000, 1, 2)
        assert 0.7 < seconds < 1.3


def test_a_changed_upload_is_rebuilt_and_a_missing_one_fails(tmp_path: Path) -> None:
    make_tone_wav(tmp_path / "a.wav", 16000, 1, 0.5)
    doc = doc_with(
        (PromptKind.WHISPER, Prompt(audio="a.wav")),
        (PromptKind.HOLIDAY, Prompt(audio="missing.mp3")),
    )
    jobs, _ = plan_jobs(iter_prompts(doc), "ko", "espeak", tmp_path)
    first = build_sounds(jobs, tmp_path, progress=quiet())
    assert first.count(BUILT) == 2 and first.count(FAILED) == 1
    assert "prompts.holiday" in first.failures[0].reason
    assert "not found" in first.failures[0].reason
    assert build_sounds(jobs, tmp_path, progress=quiet()).count(BUILT) == 0
    make_tone_wav(tmp_path / "a.wav", 16000, 1, 1.0)
    assert build_sounds(jobs, tmp_path, progress=quiet()).count(BUILT) == 1


def test_say_writes_one_file_and_refuses_long_text(tmp_path: Path) -> None:
    ok = say(BYE, tmp_path / "out.wav")
    assert ok.status == BUILT and read_wav(tmp_path / "out.wav")[:3] == (8000, 1, 2)
    long = say("a" * 300, tmp_path / "long.wav")
    assert long.status == FAILED and "limit is 240" in long.reason
    assert not (tmp_path / "long.wav").exists()


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    info = write_atomic(chime(), tmp_path / "ivr" / "tone.wav")
    assert info.asterisk_native and info.duration_ms > 1000
    assert [p.name for p in (tmp_path / "ivr").iterdir()] == ["tone.wav"]
    assert (tmp_path / "ivr" / "tone.wav").stat().st_mode & 0o044 == 0o044
