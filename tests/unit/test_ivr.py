"""IVR menus, pure: the DTMF matcher, generated prompts, the menu state machine, the
``menus`` config key and the planner's menu plans."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivr_engine.domain.config_doc import document_to_data, parse_document, resolve_all
from ivr_engine.domain.ivr import (
    ActionKind,
    Match,
    Menu,
    MenuAction,
    MenuItem,
    match_digits,
    menu_prompt_text,
    reachable,
)
from ivr_engine.domain.menu_machine import (
    Digit,
    Leave,
    MenuState,
    Phase,
    Play,
    PromptDone,
    StartTimer,
    StopPlay,
    Timeout,
    start,
    step,
)
from ivr_engine.domain.model import ForwardTarget, Prompt
from ivr_engine.domain.planner import (
    AnswerStep,
    MenuStep,
    Outcome,
    PlayStep,
    QueueStep,
    plan_call,
)
from ivr_engine.errors import ValidationError

SEOUL = ZoneInfo("Asia/Seoul")
FWD = MenuAction(ActionKind.FORWARD)
QUEUE = MenuAction(ActionKind.QUEUE, queue="support")


def item(digits: str, action: MenuAction = FWD, label: str = "x") -> MenuItem:
    return MenuItem(digits, action, label)


# -- matcher ----------------------------------------------------------------------------
ITEMS = (item("1"), item("2"), item("12"), item("#"))


@pytest.mark.parametrize(
    ("digits", "status", "exact"),
    [
        ("2", Match.COMPLETE, "2"),
        ("#", Match.COMPLETE, "#"),
        ("1", Match.INCOMPLETE, "1"),  # "12" may follow; "1" wins on the inter-digit timeout
        ("12", Match.COMPLETE, "12"),
        ("3", Match.INVALID, None),
        ("13", Match.INVALID, None),
        ("", Match.INCOMPLETE, None),
    ],
)
def test_matcher(digits: str, status: Match, exact: str | None) -> None:
    found = match_digits(ITEMS, digits)
    assert found.status is status
    assert (found.item.digits if found.item else None) == exact


def test_matcher_multi_digit_only() -> None:
    items = (item("11"), item("12"))
    assert match_digits(items, "1").status is Match.INCOMPLETE
    assert match_digits(items, "1").item is None
    assert match_digits(items, "11").status is Match.COMPLETE


# -- generated prompts --------------------------------------------------------------------
def test_prompt_from_labels_in_korean() -> None:
    items = (item("1", label="회원 문의"), item("2", label="결제 문의"))
    assert menu_prompt_text(items) == "회원 문의는 1번, 결제 문의는 2번을 눌러주세요"


def test_prompt_particles_follow_the_last_sound() -> None:
    items = (
        item("1", label="주문"),
        item("*", MenuAction(ActionKind.REPEAT), label=""),
        item("0", MenuAction(ActionKind.BACK), label=""),
    )
    # 주문 ends in a consonant (은); repeat and back get default labels; 0번 takes 을.
    assert menu_prompt_text(items) == "주문은 1번, 다시 듣기는 별표, 이전 메뉴는 0번을 눌러주세요"
    assert menu_prompt_text((item("#", label="상담"),)) == "상담은 우물 정자를 눌러주세요"


def test_written_prompt_wins_and_unlabelled_items_are_left_out() -> None:
    menu = Menu("m", (item("1", label=""), item("2", label="배송")))
    assert menu.menu_prompt() == Prompt(text="배송은 2번을 눌러주세요")
    written = Menu("m", menu.items, prompt=Prompt(audio="custom"))
    assert written.menu_prompt() == Prompt(audio="custom")
    assert Menu("m", (item("1", label=""),)).menu_prompt() is None


# -- state machine ------------------------------------------------------------------------
BRANCH = MenuAction(ActionKind.FORWARD, targets=(ForwardTarget("023334444"),))
SUB = Menu(
    "sub",
    (
        item("1", BRANCH),
        item("0", MenuAction(ActionKind.BACK)),
        item("9", MenuAction(ActionKind.REPEAT)),
    ),
)
MAIN = Menu(
    "main",
    (
        item("1", FWD, "회원 문의"),
        item("2", QUEUE, "결제 문의"),
        item("3", MenuAction(ActionKind.MENU, menu="sub"), "매장"),
        item("41", MenuAction(ActionKind.ANNOUNCE), "안내"),
        item("4", MenuAction(ActionKind.CALLBACK), "예약"),
    ),
    greeting=Prompt(text="어서 오세요"),
    timeout=4.0,
    digit_timeout=2.0,
    tries=2,
)
MENUS = {m.id: m for m in (MAIN, SUB)}


def run(
    events: list[object], menus: dict[str, Menu] = MENUS, entry: str = "main"
) -> tuple[MenuState, list[object]]:
    state, effects = start(menus, entry)
    out = list(effects)
    for event in events:
        state, effects = step(menus, state, event)  # type: ignore[arg-type]
        out += effects
    return state, out


def kinds(effects: list[object]) -> list[str]:
    return [type(e).__name__ for e in effects if type(e).__name__ != "Note"]


def leave(effects: list[object]) -> Leave:
    found = [e for e in effects if isinstance(e, Leave)]
    assert len(found) == 1
    return found[0]


def test_entering_plays_greeting_and_prompt_then_waits() -> None:
    state, effects = run([])
    (play,) = [e for e in effects if isinstance(e, Play)]
    assert [s.prompt for s in play.sounds] == [MAIN.greeting, MAIN.menu_prompt()]
    assert state.phase is Phase.PROMPT
    state, effects = run([PromptDone()])
    assert state.phase is Phase.WAIT and effects[-1] == StartTimer(4.0)


def test_key_after_prompt_leaves_with_the_action() -> None:
    state, effects = run([PromptDone(), Digit("2")])
    assert state.phase is Phase.DONE
    assert leave(effects).action == QUEUE and leave(effects).digits == "2"


def test_key_during_prompt_stops_it() -> None:
    _, effects = run([Digit("1")])
    assert kinds(effects) == ["Play", "StopPlay", "Leave"]
    # The stopped prompt's PlaybackFinished comes later and changes nothing.
    state, more = step(MENUS, MenuState("main", Phase.DONE), PromptDone())
    assert more == () and state.phase is Phase.DONE


def test_longer_choice_waits_for_the_next_key_or_the_inter_digit_timeout() -> None:
    state, effects = run([PromptDone(), Digit("4")])
    assert state.digits == "4" and effects[-1] == StartTimer(2.0)
    _, effects = run([PromptDone(), Digit("4"), Digit("1")])
    assert leave(effects).action.kind is ActionKind.ANNOUNCE
    _, effects = run([PromptDone(), Digit("4"), Timeout()])
    assert leave(effects).action.kind is ActionKind.CALLBACK


def test_wrong_key_plays_invalid_then_the_menu_and_counts_a_try() -> None:
    state, effects = run([PromptDone(), Digit("7")])
    play = [e for e in effects if isinstance(e, Play)][-1]
    assert [s.system for s in play.sounds] == ["invalid-choice", None]
    assert play.sounds[1].prompt == MAIN.menu_prompt()
    assert state.tries == 2 and state.digits == "" and state.phase is Phase.PROMPT


def test_after_the_last_try_the_destination_follows() -> None:
    _, effects = run([PromptDone(), Timeout(), PromptDone(), Timeout()])
    gone = leave(effects)
    assert gone.action == MAIN.destination and gone.action.kind is ActionKind.ANNOUNCE
    assert gone.prelude == ()  # no timeout prompt configured
    _, effects = run([PromptDone(), Digit("7"), PromptDone(), Digit("8")])
    assert [s.system for s in leave(effects).prelude] == ["invalid-choice"]


def test_timeout_prompt_and_retry() -> None:
    menus = {
        "m": Menu(
            "m",
            (item("1"), item("2")),
            tries=3,
            timeout_prompt=Prompt(text="늦었습니다"),
            after_last=QUEUE,
        )
    }
    state, effects = run([PromptDone(), Timeout()], menus, "m")
    play = [e for e in effects if isinstance(e, Play)][-1]
    assert play.sounds[0].prompt == Prompt(text="늦었습니다") and state.tries == 2
    _, effects = run([PromptDone(), Timeout()] * 3, menus, "m")
    assert leave(effects).action == QUEUE


def test_timeout_while_prompting_is_ignored() -> None:
    state, effects = run([Timeout()])
    assert state.phase is Phase.PROMPT and kinds(effects) == ["Play"]


def test_sub_menu_back_and_repeat() -> None:
    state, effects = run([PromptDone(), Digit("3")])
    assert state.menu == "sub" and state.path == ("main",)
    state, effects = run([PromptDone(), Digit("3"), PromptDone(), Digit("9")])
    assert state.menu == "sub" and [type(e) for e in effects][-1] is Play
    state, effects = run([PromptDone(), Digit("3"), PromptDone(), Digit("0")])
    assert state.menu == "main" and state.path == ()
    # Going back plays the menu without its greeting again.
    assert [s.prompt for s in effects[-1].sounds] == [MAIN.menu_prompt()]  # type: ignore[attr-defined]
    _, effects = run([PromptDone(), Digit("3"), PromptDone(), Digit("1")])
    assert leave(effects).action.targets == (ForwardTarget("023334444"),)


def test_single_item_menu_connects_without_prompting() -> None:
    only = Menu("only", (item("1", QUEUE),), greeting=Prompt(text="안녕하세요"))
    state, effects = start({"only": only}, "only")
    assert kinds(list(effects)) == ["Leave"] and state.phase is Phase.DONE
    assert leave(list(effects)).prelude[0].prompt == Prompt(text="안녕하세요")
    # A single sub-menu item chains on; a loop of them ends with goodbye.
    hop = Menu("hop", (item("1", MenuAction(ActionKind.MENU, menu="only")),))
    _, effects = start({"hop": hop, "only": only}, "hop")
    assert leave(list(effects)).action == QUEUE
    loop = {
        "a": Menu("a", (item("1", MenuAction(ActionKind.MENU, menu="b")),)),
        "b": Menu("b", (item("1", MenuAction(ActionKind.MENU, menu="a")),)),
    }
    _, effects = start(loop, "a")
    assert leave(list(effects)).reason == "single-item menus form a loop"


def test_done_ignores_everything() -> None:
    done = MenuState("main", Phase.DONE)
    for event in (Digit("1"), Timeout(), PromptDone()):
        assert step(MENUS, done, event) == (done, ())
    assert StopPlay() not in run([PromptDone(), Digit("2")])[1]


def test_reachable_menus() -> None:
    assert reachable(MENUS, "main") == ["main", "sub"]
    assert reachable(MENUS, "sub") == ["sub"]


# -- configuration -------------------------------------------------------------------------
DOC = {
    "tenants": [
        {
            "id": "t",
            "name": "T",
            "queues": [{"id": "support"}],
            "menus": [
                {
                    "id": "main",
                    "items": [
                        {"key": 1, "label": "회원 문의", "forward": True},
                        {"key": "2", "label": "결제 문의", "queue": "support"},
                        {"key": "3", "label": "매장", "menu": "sub"},
                        {"key": "4", "label": "예약", "callback": {"text": "접수되었습니다."}},
                        {"key": "*", "repeat": True},
                    ],
                    "after_last": {"queue": "support"},
                    "timeout": 4.5,
                }
            ],
            "numbers": [
                {
                    "number": "0505-111-2222",
                    "menu": "main",
                    "targets": ["010-1111-2222"],
                    "menus": [
                        {
                            "id": "sub",
                            "items": [
                                {"key": "1", "label": "강남점", "forward": ["02-333-4444"]},
                                {"key": "0", "back": True},
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


def test_menus_parse_and_serialise_exactly() -> None:
    doc = parse_document(DOC)
    assert parse_document(document_to_data(doc)) == doc
    config = resolve_all(doc)["05051112222"]
    assert config.menu == "main" and [m.id for m in config.menus] == ["main", "sub"]
    main = config.menus[0]
    assert main.items[0].digits == "1" and main.timeout == 4.5 and main.tries == 3
    assert [q.id for q in config.queues] == ["support"]


def test_number_menu_wins_by_id() -> None:
    data = {
        "tenants": [
            {
                **DOC["tenants"][0],
                "numbers": [
                    {
                        "number": "0505-111-2222",
                        "menu": "main",
                        "targets": ["010-1111-2222"],
                        "menus": [
                            {
                                "id": "main",
                                "items": [{"key": "1", "label": "상담", "forward": True}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    config = resolve_all(parse_document(data))["05051112222"]
    assert [len(m.items) for m in config.menus] == [1]


@pytest.mark.parametrize(
    ("menu", "message"),
    [
        ({"id": "m", "items": []}, "at least one item"),
        ({"id": "m", "items": [{"key": "x", "repeat": True}]}, "not a key sequence"),
        ({"id": "m", "items": [{"key": "1"}]}, "exactly one action"),
        ({"id": "m", "items": [{"key": "1", "queue": "q", "repeat": True}]}, "exactly one action"),
        ({"id": "m", "items": [{"key": "1", "repeat": True}], "timeout": 0}, "seconds from 0.5"),
        (
            {"id": "m", "items": [{"key": "1", "repeat": True}], "after_last": {"repeat": True}},
            "unknown key",
        ),
        ({"id": "m", "items": [{"key": "1", "repeat": True, "colour": 1}]}, "unknown key"),
    ],
)
def test_bad_menus_are_refused_with_their_path(menu: dict[str, object], message: str) -> None:
    data = {"tenants": [{"id": "t", "menus": [menu]}]}
    with pytest.raises(ValidationError, match=message) as err:
        parse_document(data, "f.yaml")
    assert "tenants[0].menus[0]" in str(err.value)


def test_menu_ids_are_unique_per_layer() -> None:
    item_ = {"key": "1", "repeat": True}
    data = {
        "tenants": [
            {"id": "t", "menus": [{"id": "m", "items": [item_]}, {"id": "m", "items": [item_]}]}
        ]
    }
    with pytest.raises(ValidationError, match="defined twice"):
        parse_document(data)


# -- planner ---------------------------------------------------------------------------------
def test_plan_answers_greets_and_runs_the_menu() -> None:
    data = {"tenants": [{**DOC["tenants"][0], "prompts": {"greeting": {"text": "안녕하세요"}}}]}
    config = resolve_all(parse_document(data))["05051112222"]
    plan = plan_call(config, "01020003000", "05051112222", datetime(2026, 1, 5, 12, tzinfo=SEOUL))
    assert plan.outcome is Outcome.MENU
    answer, greeting, menu = plan.steps
    assert isinstance(answer, AnswerStep) and isinstance(menu, MenuStep)
    assert isinstance(greeting, PlayStep) and not greeting.early_media
    assert menu.entry == "main" and plan.dial is None
    sub_forward = menu.dial_for(config.menus[1].items[0].action)
    assert [t.number for t in sub_forward.targets] == ["023334444"]
    assert [t.number for t in menu.dial_for(FWD).targets] == ["01011112222"]
    as_json = plan.to_json()["steps"][2]
    assert [m["id"] for m in as_json["menus"]] == ["main", "sub"]
    assert as_json["menus"][0]["items"][1] == {
        "key": "2",
        "label": "결제 문의",
        "action": "queue",
        "leads_to": "queue support",
        "queue": "support",
    }
    assert any(r.startswith("menu sub: 1 -> forward to 02-33*-44**") for r in plan.reasons)


def test_closed_hours_still_announce_and_unknown_entry_menu_rings() -> None:
    weekdays = {"open": {"mon-fri": ["09:00-18:00"]}}
    closed = {"tenants": [{**DOC["tenants"][0], "schedule": weekdays}]}
    config = resolve_all(parse_document(closed))["05051112222"]
    night = plan_call(config, "01020003000", "05051112222", datetime(2026, 1, 5, 22, tzinfo=SEOUL))
    assert night.outcome is Outcome.ANNOUNCE
    data = {
        "tenants": [
            {
                **DOC["tenants"][0],
                "numbers": [
                    {"number": "0505-111-2222", "menu": "nope", "targets": ["010-1111-2222"]}
                ],
            }
        ]
    }
    config = resolve_all(parse_document(data))["05051112222"]
    plan = plan_call(config, "01020003000", "05051112222", datetime(2026, 1, 5, 12, tzinfo=SEOUL))
    assert plan.outcome is Outcome.FORWARD and plan.dial is not None
    assert "entry menu nope is not defined: ringing the targets" in plan.reasons


def test_menu_and_queue_steps_in_words() -> None:
    config = resolve_all(parse_document(DOC))["05051112222"]
    plan = plan_call(config, "01020003000", "05051112222", datetime(2026, 1, 5, 12, tzinfo=SEOUL))
    menu = plan.steps[-1]
    assert isinstance(menu, MenuStep)
    assert menu.describe() == (
        'menu main: "회원 문의는 1번, 결제 문의는 2번, 매장은 3번, 예약은 4번, 다시 듣기는 '
        "별표를 눌러주세요\"; 1 -> forward to the number's targets, 2 -> queue support, "
        "3 -> menu sub, 4 -> leave a callback request, then hang up, * -> repeat the menu"
    )
    assert QueueStep("support").to_json() == {"action": "queue", "queue": "support"}
    assert QueueStep("support").describe() == "wait in queue support for an agent"
