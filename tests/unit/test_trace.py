"""A call's trace survives the JSON round trip used to hand a call over to another engine."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from ivr_engine.domain.dialing import Attempt, TargetResult
from ivr_engine.domain.trace import (
    TEXT_WIDTH,
    CallTrace,
    shorten,
    spoken_media,
    trace_from_json,
    trace_to_json,
)


def test_trace_round_trip() -> None:
    t0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    trace = CallTrace(
        "1.1",
        "05051234567",
        "010-2000-3000",
        t0,
        linkedid="1.1",
        caller="01020003000",
        tenant_id="gangnam-pizza",
        node="pbx-1",
    )
    trace.add(t0, "plan", "open -> forward", state="open")
    trace.add(t0 + timedelta(seconds=1), "ring", "ringing", target="01011112222", leg="1.1-t1")
    trace.attempts.append(Attempt("01011112222", TargetResult.ANSWERED, None, 3.2))
    trace.ring_started = t0 + timedelta(seconds=1)
    trace.answered_at = t0 + timedelta(seconds=4)
    trace.answered_target, trace.state, trace.outcome = "01011112222", "open", "forward"
    trace.reasons, trace.config_version = ("open hours 11:00-15:00",), 7
    back = trace_from_json(json.loads(json.dumps(trace_to_json(trace))))
    assert back == trace


TEXTS = {
    "ivr/tts-86557d6fdc699ed6": "전화 주셔서 감사합니다. 강남피자입니다.",
    "ivr/tts-long": (
        "하늘쇼핑 고객센터 상담시간은 평일 오전 9시부터 오후 6시까지입니다. 다시 걸어 주세요."
    ),
}


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            "coloring sound:ivr/tts-86557d6fdc699ed6 (early media) [complete]",
            'coloring "전화 주셔서 감사합니다. 강남피자입니다." (early media) [complete]',
        ),
        (  # a media list: each sound by its words
            "sound:ivr/tts-86557d6fdc699ed6,sound:ivr/tts-86557d6fdc699ed6",
            '"전화 주셔서 감사합니다. 강남피자입니다.","전화 주셔서 감사합니다. 강남피자입니다."',
        ),
        (  # cut at a space, with an ellipsis
            "play sound:ivr/tts-long done",
            'play "하늘쇼핑 고객센터 상담시간은 평일 오전 9시부터 오후 6시까지입니다…" done',
        ),
        ("play sound:ivr/tts-0000 done", "play sound:ivr/tts-0000 done"),  # unknown: the name
        ("ringing 01011112222@carrier", "ringing 01011112222@carrier"),
    ],
)
def test_sounds_are_shown_by_their_words(line: str, shown: str) -> None:
    assert spoken_media(line, TEXTS) == shown


def test_shorten() -> None:
    assert shorten("짧은  문장\n입니다.") == "짧은 문장 입니다."
    assert shorten("x" * 50, width=10) == "x" * 9 + "…"
    assert len(shorten(TEXTS["ivr/tts-long"])) <= TEXT_WIDTH


def test_render_names_known_prompts() -> None:
    t0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    trace = CallTrace("1.1", "05051234567", "010-2000-3000", t0)
    trace.add(t0, "coloring", "coloring sound:ivr/tts-86557d6fdc699ed6")
    assert "sound:ivr/tts-86557d6fdc699ed6" in trace.render()
    assert (
        trace.render(TEXTS)
        .splitlines()[1]
        .endswith('coloring "전화 주셔서 감사합니다. 강남피자입니다."')
    )
