"""IVR menus end to end: the sample's customer center (0505-300-1000) and a few test
numbers, through the simulator, asserting on what the caller heard and pressed.

Key moments are computed from the built prompts' lengths (simulated seconds), so a key
lands inside or after a prompt whatever the TTS voice makes of the text.
"""

from __future__ import annotations

import wave
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ivr_engine.commands.db import read_document
from ivr_engine.domain.config_doc import parse_document, resolve_all
from ivr_engine.domain.dialing import TargetResult
from ivr_engine.domain.ivr import menu_prompts
from ivr_engine.domain.model import Prompt
from ivr_engine.prompts.build import build_sounds, plan_jobs
from ivr_engine.prompts.collect import PromptRef
from ivr_engine.prompts.names import sound_name, system_sound_name
from ivr_engine.sim import Behaviour
from ivr_engine.store.loader import load_document

from .conftest import ROOT, SAMPLE, EngineFactory, Harness

OPEN = datetime(2026, 11, 20, 12, 0)  # a Friday, open hours of the customer center
CENTER = "05053001000"
MEMBER_DESK = "01044445555"
CALLER = "01020003000"
QUICK, SINGLE = "05054000001", "05054000002"
AGENT, ONLY_TARGET = "01055550001", "01055550002"

# Test numbers: short timeouts (wall seconds) so the timeout path runs fast.
TEST_DOC: dict[str, Any] = {
    "tenants": [
        {
            "id": "menu-test",
            "name": "메뉴 시험",
            "menus": [
                {
                    "id": "quick",
                    "timeout": 0.5,
                    "digit_timeout": 0.5,
                    "tries": 2,
                    "timeout_prompt": {"text": "입력 시간이 지났습니다."},
                    "items": [
                        {"key": "1", "label": "상담원 연결", "forward": [AGENT]},
                        {
                            "key": "2",
                            "label": "영업시간 안내",
                            "announce": {"text": "평일에 영업합니다."},
                        },
                    ],
                    "after_last": {"forward": [AGENT]},
                },
                {
                    "id": "only",
                    "greeting": {"text": "바로 연결해 드리겠습니다."},
                    "items": [{"key": "1", "label": "상담", "forward": [ONLY_TARGET]}],
                },
            ],
            "numbers": [{"number": QUICK, "menu": "quick"}, {"number": SINGLE, "menu": "only"}],
        }
    ]
}


@pytest.fixture(scope="module")
def menu_sounds(built_sounds: Path) -> Path:
    """The menus' prompts (generated ones included) built next to the sample's sounds."""
    docs = [read_document(SAMPLE), parse_document(TEST_DOC)]
    refs = [
        PromptRef(where, prompt)
        for doc in docs
        for cfg in resolve_all(doc).values()
        for where, prompt in menu_prompts(cfg.menus)
    ]
    jobs, refused = plan_jobs(refs, "ko", "espeak", ROOT)
    assert not refused, refused
    report = build_sounds(jobs, built_sounds, engine="espeak")
    assert not report.failures, report.summary()
    return built_sounds


def seconds(sounds: Path, prompt: Prompt) -> float:
    """Length of a built prompt in (simulated) seconds."""
    with wave.open(str(sounds / f"{sound_name(prompt)}.wav")) as w:
        return w.getnframes() / w.getframerate()


def uri(prompt: Prompt) -> str:
    """The media URI the engine plays for a prompt."""
    return f"sound:{sound_name(prompt)}"


def center_menu() -> Any:
    """The customer center's main menu as configured."""
    return resolve_all(read_document(SAMPLE))[CENTER].menus[0]


GREETING = Prompt(text="하늘쇼핑 고객센터입니다.")
INVALID = f"sound:{system_sound_name('invalid-choice')}"


async def start(call_engine: EngineFactory, with_test_doc: bool = False) -> Harness:
    """An engine in open hours; optionally with the test numbers loaded too."""
    h = await call_engine(OPEN)
    if with_test_doc:
        await load_document(h.engine.db.pool, parse_document(TEST_DOC), source="test")
        h.engine.cache.clear()
    return h


def plays(h: Harness, channel_id: str) -> list[Any]:
    """The caller's timeline entries that are prompts."""
    return [e for e in h.sim.timeline(channel_id) if e.kind == "play"]


async def test_correct_key_after_the_prompt_forwards(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    menu = center_menu().menu_prompt()
    assert menu == Prompt(
        text="회원 문의는 1번, 결제 문의는 2번, 상담 예약은 3번, 다시 듣기는 별표를 눌러주세요"
    )
    h = await start(call_engine)
    h.sim.set_behaviour(MEMBER_DESK, Behaviour.answer_after(1.0, talk=2.0))
    after_prompt = seconds(menu_sounds, GREETING) + seconds(menu_sounds, menu) + 3.0
    call = await h.call(CENTER, CALLER, dtmf=((after_prompt, "1"),))
    trace = await h.finished(call)

    heard = plays(h, call.channel_id)
    assert [p.media for p in heard[:2]] == [uri(GREETING), uri(menu)]
    assert heard[1].result == "complete" and not heard[1].early_media
    assert trace.outcome == "menu"
    assert [(a.target, a.result) for a in trace.attempts] == [(MEMBER_DESK, TargetResult.ANSWERED)]
    assert trace.answered_target == MEMBER_DESK


async def test_wrong_key_plays_invalid_prompt_and_asks_again(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    menu = center_menu().menu_prompt()
    assert menu is not None
    h = await start(call_engine)
    h.sim.set_behaviour(MEMBER_DESK, Behaviour.answer_after(1.0, talk=2.0))
    first = seconds(menu_sounds, GREETING) + seconds(menu_sounds, menu) + 2.0
    second = first + 4.0 + seconds(menu_sounds, menu)  # invalid-choice is ~4.7 s long
    call = await h.call(CENTER, CALLER, dtmf=((first, "9"), (second + 3.0, "1")))
    trace = await h.finished(call)

    media = [p.media for p in plays(h, call.channel_id)]
    assert media[:4] == [uri(GREETING), uri(menu), INVALID, uri(menu)]
    assert any("invalid (9), try 2 of 3" in e.text for e in trace.entries)
    assert trace.answered_target == MEMBER_DESK


async def test_key_during_the_prompt_interrupts_it(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    menu = center_menu().menu_prompt()
    assert menu is not None
    h = await start(call_engine)
    h.sim.set_behaviour(MEMBER_DESK, Behaviour.answer_after(1.0, talk=2.0))
    during = seconds(menu_sounds, GREETING) + seconds(menu_sounds, menu) / 2
    call = await h.call(CENTER, CALLER, dtmf=((during, "1"),))
    trace = await h.finished(call)

    prompt = next(p for p in plays(h, call.channel_id) if p.media == uri(menu))
    assert prompt.result == "interrupted"
    pressed = next(e for e in h.sim.timeline(call.channel_id) if e.kind == "dtmf_sent")
    assert prompt.t_end is not None and prompt.t_end >= pressed.t_start
    # Stopped right away: well before the prompt's own end.
    assert prompt.t_end - prompt.t_start < seconds(menu_sounds, menu) * 0.8
    assert trace.answered_target == MEMBER_DESK


async def test_no_key_retries_then_goes_to_the_destination(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    h = await start(call_engine, with_test_doc=True)
    h.sim.set_behaviour(AGENT, Behaviour.answer_after(1.0, talk=2.0))
    call = await h.call(QUICK, CALLER)
    trace = await h.finished(call)

    menu_doc = resolve_all(parse_document(TEST_DOC))[QUICK].menus[0]
    menu, expired = menu_doc.menu_prompt(), menu_doc.timeout_prompt
    assert menu is not None and expired is not None
    media = [p.media for p in plays(h, call.channel_id)]
    # Asked twice (tries: 2), the timeout prompt after each silence, then forwarded.
    assert media[:4] == [uri(menu), uri(expired), uri(menu), uri(expired)]
    assert any("timeout on the last of 2 tries" in e.text for e in trace.entries)
    assert [(a.target, a.result) for a in trace.attempts] == [(AGENT, TargetResult.ANSWERED)]
    assert not any(e.kind == "dtmf" for e in trace.entries)


async def test_single_item_menu_connects_without_prompting(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    h = await start(call_engine, with_test_doc=True)
    h.sim.set_behaviour(ONLY_TARGET, Behaviour.answer_after(1.0, talk=2.0))
    call = await h.call(SINGLE, CALLER)
    trace = await h.finished(call)

    only = resolve_all(parse_document(TEST_DOC))[SINGLE].menus[1]
    assert only.greeting is not None
    menu = only.menu_prompt()
    assert menu is not None
    media = [p.media for p in plays(h, call.channel_id)]
    assert uri(only.greeting) in media and uri(menu) not in media
    assert trace.answered_target == ONLY_TARGET


async def test_callback_request_is_registered_with_the_callers_number(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    h = await start(call_engine)
    menu = center_menu()
    spoken = menu.menu_prompt()
    confirmation = menu.items[2].action.prompt
    assert spoken is not None and confirmation is not None
    after_prompt = seconds(menu_sounds, GREETING) + seconds(menu_sounds, spoken) + 2.0
    call = await h.call(CENTER, "010-2000-3000", dtmf=((after_prompt, "3"),))
    trace = await h.finished(call)

    rows = await h.engine.db.pool.fetch("SELECT * FROM callback_requests")
    assert [(r["tenant_id"], r["number"], r["caller"], r["source"], r["status"]) for r in rows] == [
        ("haneul-shop", CENTER, CALLER, "menu", "open")
    ]
    assert plays(h, call.channel_id)[-1].media == uri(confirmation)
    assert trace.hangup_by == "engine" and trace.hangup_cause == 16
    assert not trace.attempts


async def test_a_callback_request_that_cannot_be_stored_is_not_confirmed(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    h = await start(call_engine)
    await h.engine.db.pool.execute("ALTER TABLE callback_requests RENAME TO callback_away")
    menu = center_menu()
    spoken = menu.menu_prompt()
    confirmation = menu.items[2].action.prompt
    assert spoken is not None and confirmation is not None
    after_prompt = seconds(menu_sounds, GREETING) + seconds(menu_sounds, spoken) + 2.0
    call = await h.call(CENTER, "010-2000-3000", dtmf=((after_prompt, "3"),))
    trace = await h.finished(call)

    media = [p.media for p in plays(h, call.channel_id)]
    assert uri(confirmation) not in media
    assert media[-1] == f"sound:{system_sound_name('cannot-be-reached')}"
    assert trace.hangup_by == "engine" and trace.hangup_cause == 16


def overlaps(a: Any, b: Any) -> bool:
    """Whether two timeline entries overlap in time (an open entry lasts to the end)."""
    a_end = a.t_end if a.t_end is not None else float("inf")
    b_end = b.t_end if b.t_end is not None else float("inf")
    return a.t_start < b_end and b.t_start < a_end


async def test_menu_then_forward_rings_in_band_and_stops_before_the_bridge(
    call_engine: EngineFactory, menu_sounds: Path
) -> None:
    # Answered by the menu, the caller hears the ringing as an in-band tone while the target
    # rings (Asterisk plays it for POST /ring on an Up channel), never over the conversation.
    h = await start(call_engine, with_test_doc=True)
    h.sim.set_behaviour(ONLY_TARGET, Behaviour.answer_after(2.0, talk=3.0))
    call = await h.call(SINGLE, CALLER)
    trace = await h.finished(call)
    assert trace.answered_target == ONLY_TARGET
    heard = h.sim.timeline(call.channel_id)
    ringback = [e for e in heard if e.kind == "ringback"]
    (bridged,) = [e for e in heard if e.kind == "bridged"]
    assert ringback and all(r.detail.get("inband") and not r.early_media for r in ringback)
    assert not any(overlaps(r, bridged) for r in ringback), [e.describe() for e in heard]
    assert ringback[-1].detail.get("ended_by") == "ring stop"  # stopped by the engine itself
    assert ringback[-1].t_end - ringback[-1].t_start >= 2.0  # while the target rang
