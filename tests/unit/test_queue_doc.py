"""The ``queues:`` configuration key: validation with paths, round trip, merging."""

from __future__ import annotations

import json

import pytest

from ivr_engine.domain.model import Prompt
from ivr_engine.domain.queue_doc import (
    AfterCall,
    Overflow,
    QueueAgent,
    QueueConfig,
    QueueConfigInvalid,
    QueueStrategy,
    ServiceLevelMode,
    find_queue,
    merge_queues,
    parse_queues,
    queues_to_data,
)
from ivr_engine.errors import ValidationError

FULL = [
    {
        "id": "support",
        "name": "결제 상담",
        "strategy": "weighted",
        "ring_seconds": 12,
        "max_wait_seconds": 120,
        "overflow": {"forward": "010-1234-5678", "ring_seconds": 25},
        "holding": {"coloring": {"text": "잠시만 기다려 주세요."}},
        "announcement": "모든 상담원이 통화중입니다.",
        "announce_every_seconds": 20,
        "announce_position": True,
        "announce_wait": True,
        "callback_key": "1",
        "auto_pause_after": 3,
        "wrapup_seconds": 15,
        "after_call": "rest",
        "service_level_seconds": 30,
        "service_level": "answered_and_abandoned",
        "short_abandon_seconds": 4,
        "agents": [
            {"id": "kim", "endpoint": "PJSIP/kim", "priority": 1, "weight": 3, "ring_seconds": 20},
            {"id": "lee", "endpoint": "010-2222-3333", "name": "이상담"},
        ],
    },
    {"id": "sales", "overflow": {"announce": {"audio": "ivr/closed"}}, "holding": {"moh": "jazz"}},
]


def test_full_definition() -> None:
    support, sales = parse_queues(FULL)
    assert support.strategy is QueueStrategy.WEIGHTED
    assert support.overflow == Overflow(forward="01012345678", ring_seconds=25)
    assert support.coloring == Prompt(text="잠시만 기다려 주세요.") and support.moh_class is None
    assert support.announcement == Prompt(text="모든 상담원이 통화중입니다.")
    assert support.after_call is AfterCall.REST
    assert support.service_level is ServiceLevelMode.ANSWERED_AND_ABANDONED
    assert support.agents == (
        QueueAgent("kim", "PJSIP/kim", "", 1, 3, 20),
        QueueAgent("lee", "01022223333", "이상담"),
    )
    assert sales.overflow.prompt == Prompt(audio="ivr/closed") and sales.moh_class == "jazz"


def test_defaults() -> None:
    (q,) = parse_queues([{"id": "q"}])
    assert q == QueueConfig("q")
    assert q.strategy is QueueStrategy.LONGEST_IDLE and q.moh_class == "default"


def test_round_trip_is_exact_and_json() -> None:
    queues = parse_queues(FULL)
    data = queues_to_data(queues)
    assert parse_queues(json.loads(json.dumps(data))) == queues
    assert queues_to_data(parse_queues([{"id": "q"}])) == [{"id": "q"}]


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"id": "q", "strategy": "random"}, "queues[0].strategy", "not one of"),
        ({"id": "q", "ring_seconds": 0}, "queues[0].ring_seconds", "from 1 to 600"),
        ({"id": "q", "callback_key": "12"}, "queues[0].callback_key", "DTMF"),
        ({"id": "q", "overflow": {}}, "queues[0].overflow", "exactly one"),
        ({"id": "q", "overflow": {"forward": 1012345678}}, "queues[0].overflow.forward", "quoted"),
        ({"id": "q", "holding": {"moh": "a", "coloring": "b"}}, "queues[0].holding", "exactly one"),
        ({"id": "q", "colour": 1}, "queues[0].colour", "unknown key"),
        ({"name": "x"}, "queues[0]", "missing key 'id'"),
        ({"id": "q", "agents": [{"id": "a"}]}, "queues[0].agents[0]", "'endpoint'"),
        (
            {"id": "q", "agents": [{"id": "a", "endpoint": "SIP/x"}]},
            "queues[0].agents[0].endpoint",
            "",
        ),
        (
            {
                "id": "q",
                "agents": [{"id": "a", "endpoint": "PJSIP/a"}, {"id": "a", "endpoint": "PJSIP/b"}],
            },
            "queues[0].agents",
            "twice",
        ),
    ],
)
def test_errors_name_the_path(data: dict, path: str, words: str) -> None:
    with pytest.raises(QueueConfigInvalid) as info:
        parse_queues([data])
    assert info.value.path == path
    assert words in info.value.message
    assert isinstance(info.value, ValidationError)


def test_duplicate_queue_ids_and_non_list() -> None:
    with pytest.raises(QueueConfigInvalid, match="used twice"):
        parse_queues([{"id": "q"}, {"id": "q"}])
    with pytest.raises(QueueConfigInvalid, match="list of queues"):
        parse_queues({"id": "q"}, "tenants[0].queues")


def test_merge_by_id_number_wins() -> None:
    tenant = parse_queues([{"id": "a"}, {"id": "b", "ring_seconds": 9}])
    own = parse_queues([{"id": "b", "ring_seconds": 30}, {"id": "c"}])
    merged = merge_queues(tenant, own)
    assert merged is not None and [q.id for q in merged] == ["a", "b", "c"]
    assert find_queue(merged, "b").ring_seconds == 30  # type: ignore[union-attr]
    assert merge_queues(None, None) is None and find_queue(None, "a") is None
