"""``ivr-engine prompts ...`` end to end, and the system prompts shipped in the repository."""

import wave
from pathlib import Path

import pytest

from ivr_engine.cli import main
from ivr_engine.prompts.audio import is_valid_sound, wav_info
from ivr_engine.prompts.manifest import load_manifest
from ivr_engine.prompts.names import SYSTEM_PROMPTS, system_sound_name

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "sounds"

CONFIG = """
tenants:
  - id: t1
    name: Test
    prompts:
      after_hours: {text: "영업 종료"}
    numbers:
      - number: 0505-111-2222
        targets: [{number: 010-1111-2222}]
        whisper: {text: "주문 전화"}
"""


@pytest.fixture
def sounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private sounds dir for the CLI (through the environment, as in production)."""
    path = tmp_path / "sounds"
    monkeypatch.setenv("IVR_PROMPTS_SOUNDS_DIR", str(path))
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    return path


@pytest.mark.parametrize("name", sorted(SYSTEM_PROMPTS))
def test_shipped_system_prompt_is_a_valid_asterisk_sound(name: str) -> None:
    path = SHIPPED / f"{system_sound_name(name)}.wav"
    info = wav_info(path)
    assert info is not None, f"{path} missing or not a WAV"
    assert info.asterisk_native
    assert 1000 < info.duration_ms < 12000
    assert path.stat().st_size < 200_000  # small enough to commit


def test_shipped_prompts_are_not_silent() -> None:
    with wave.open(str(SHIPPED / "ivr/system/cannot-be-reached.wav"), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
    samples = memoryview(frames).cast("h")
    assert max(abs(s) for s in samples) > 8000


def test_build_from_a_yaml_file_then_list(
    tmp_path: Path, sounds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    assert main(["prompts", "build", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"prompts: {2 + len(SYSTEM_PROMPTS)} built, 0 cached, 0 failed" in out
    manifest = load_manifest(sounds)
    texts = {e.text for e in manifest.values() if e.kind == "tts"}
    assert {"영업 종료", "주문 전화"} <= texts
    assert all(is_valid_sound(sounds / f"{name}.wav") for name in manifest)

    assert main(["prompts", "build", str(config)]) == 0
    assert f"0 built, {2 + len(SYSTEM_PROMPTS)} cached" in capsys.readouterr().out

    assert main(["prompts", "list"]) == 0
    listing = capsys.readouterr().out
    assert "주문 전화" in listing and "ivr/system/cannot-be-reached" in listing
    assert "MISSING" not in listing


def test_build_fails_on_an_over_long_text(
    tmp_path: Path, sounds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("영업 종료", "가" * 250), encoding="utf-8")
    assert main(["prompts", "build", str(config)]) == 1
    out = capsys.readouterr().out
    assert "1 failed" in out
    assert "tenant t1 / defaults / prompts.after_hours: prompt text is 250 characters" in out


def test_system_only_build_and_say(
    tmp_path: Path, sounds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prompts", "build", "--system"]) == 0
    assert all(is_valid_sound(sounds / f"{system_sound_name(n)}.wav") for n in SYSTEM_PROMPTS)
    out = tmp_path / "hello.wav"
    assert main(["prompts", "say", "안녕하세요", "-o", str(out)]) == 0
    assert is_valid_sound(out)
    assert main(["prompts", "say", "가" * 241, "-o", str(tmp_path / "x.wav")]) == 1
    assert "limit is 240" in capsys.readouterr().err
