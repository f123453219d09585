"""Sound names: stable across releases, distinct per text/voice/engine, shared by equal texts."""

import hashlib

import pytest

from ivr_engine.domain.model import Prompt
from ivr_engine.prompts.names import (
    SYSTEM_PROMPTS,
    engine_for,
    is_upload,
    normalise_text,
    sound_name,
    sound_uri,
    system_sound_name,
)

GREETING = "안녕하세요. 주문 전화입니다."


def test_text_name_has_the_documented_shape() -> None:
    name = sound_name(Prompt(text=GREETING))
    digest = hashlib.sha256(f"{GREETING}\x00ko\x00espeak".encode()).hexdigest()[:16]
    assert name == f"ivr/tts-{digest}"


def test_text_name_is_pinned_across_releases() -> None:
    # Built files on Asterisk boxes carry these names; changing the scheme orphans them.
    assert (
        sound_name(Prompt(text="hello"))
        == "ivr/tts-" + hashlib.sha256(b"hello\x00ko\x00espeak").hexdigest()[:16]
    )
    assert sound_name(Prompt(text="hello")) == "ivr/tts-7b745a056baea7c4"


def test_names_are_distinct_per_text_voice_and_engine() -> None:
    names = {
        sound_name(Prompt(text=GREETING)),
        sound_name(Prompt(text=GREETING + "!")),
        sound_name(Prompt(text=GREETING), voice="en"),
        sound_name(Prompt(text=GREETING), engine="gtts"),
    }
    assert len(names) == 4


def test_equal_texts_share_a_sound_whatever_the_spacing() -> None:
    spaced = "  안녕하세요.\n  주문   전화입니다. "
    assert normalise_text(spaced) == GREETING
    assert sound_name(Prompt(text=spaced)) == sound_name(Prompt(text=GREETING))


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown TTS engine"):
        sound_name(Prompt(text="x"), engine="festival")


def test_uploads_are_named_by_path_and_sound_names_pass_through() -> None:
    up = sound_name(Prompt(audio="uploads/welcome.mp3"))
    assert up.startswith("ivr/audio-") and len(up) == len("ivr/audio-") + 16
    assert up != sound_name(Prompt(audio="uploads/other.mp3"))
    assert up == sound_name(Prompt(audio=" uploads/welcome.mp3 "))
    assert sound_name(Prompt(audio="custom/welcome")) == "custom/welcome"
    assert sound_name(Prompt(audio="sound:custom/welcome")) == "custom/welcome"
    assert is_upload("a/B.WAV") and not is_upload("ivr/system/goodbye")


def test_empty_prompt_has_no_name() -> None:
    with pytest.raises(ValueError):
        sound_name(Prompt())


def test_system_prompts_the_planner_uses_exist() -> None:
    for name in (
        "not-in-service",
        "temporarily-unavailable",
        "cannot-be-reached",
        "after-hours",
        "lunch",
        "holiday",
        "block-period",
        "blocked-caller",
        "queue-wait",
        "invalid-choice",
        "goodbye",
        "default-coloring",
    ):
        assert system_sound_name(name) == f"ivr/system/{name}"
    assert "받을 수 없습니다" in SYSTEM_PROMPTS["cannot-be-reached"]
    with pytest.raises(KeyError):
        system_sound_name("no-such-prompt")


def test_sound_uri_and_engine_choice() -> None:
    assert sound_uri("ivr/system/goodbye") == "sound:ivr/system/goodbye"
    assert engine_for("espeak") == "espeak"
    assert engine_for("gtts") == "gtts"
    assert engine_for("espeak", gtts_enabled=True) == "gtts"
