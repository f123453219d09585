"""The engine's view of one forwarded call on the simulator against the same call on a real
Asterisk 22.10.1 (recorded as the engine received it: SIPp caller and target, coloring,
whisper, bridge, the callee hangs up; ``tests/data/forward_call_22.10.1.jsonl``).

Compared: each party's events in order, the requests' replies (by what they were for, with
their status) and the fields every event and channel snapshot carries, so the simulator's
figures in ``python -m bench calls`` come from the stream a real PBX sends.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ivr_engine.asterisk.ari import stream as ari_stream
from ivr_engine.sim import Behaviour

from .conftest import EngineFactory
from .test_records import FIRST, GANGNAM, OPEN

RECORDED = Path(__file__).resolve().parents[1] / "data" / "forward_call_22.10.1.jsonl"
SNAPSHOT_PARTS = ("caller", "connected", "dialplan")


def roles(frames: list[dict[str, Any]]) -> dict[str, str]:
    """Ids of the call's parties, playbacks and bridge -> what they are."""
    caller = next(f["channel"]["id"] for f in frames if f["type"] == "StasisStart")
    out = {caller: "caller", f"{caller}-t1": "callee"}
    for f in frames:
        playback = f.get("playback")
        if playback:
            kind = "coloring" if playback["target_uri"].endswith(f":{caller}") else "whisper"
            out[playback["id"]] = kind
        body = f.get("message_body")
        if f["type"] == "RESTResponse" and f["uri"] == "bridges" and body:
            out[json.loads(body)["id"]] = "bridge"
    return out


def sequences(frames: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each party's event types in order (replies left out)."""
    names = roles(frames)
    out: dict[str, list[str]] = {"caller": [], "callee": []}
    for f in frames:
        if f["type"] == "RESTResponse":
            continue
        channel = (f.get("channel") or {}).get("id")
        target = (f.get("playback") or {}).get("target_uri", ":").partition(":")[2]
        party = names.get(channel or target)
        if party in out:
            out[party].append(f["type"])
    return out


def replies(frames: list[dict[str, Any]]) -> Counter[str]:
    """The replies by what they were for (ids named by role) and status."""
    names = roles(frames)
    pattern = re.compile("|".join(re.escape(i) for i in sorted(names, key=len, reverse=True)))
    return Counter(
        f"{f['status_code']} {pattern.sub(lambda m: names[m.group(0)], f['uri'])}"
        for f in frames
        if f["type"] == "RESTResponse"
    )


def shapes(frames: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The fields of each event type, and of the channel snapshots and their parts."""
    out: dict[str, set[str]] = {}
    for f in frames:
        out.setdefault(f["type"], set()).update(f)
        channel = f.get("channel")
        if isinstance(channel, dict):
            out.setdefault("channel", set()).update(channel)
            for part in SNAPSHOT_PARTS:
                out.setdefault(f"channel.{part}", set()).update(channel.get(part) or {})
    return out


@pytest.fixture
def recorded_call() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines()]


async def simulated_call(
    call_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The frames the engine received for one forwarded call on the simulator."""
    h = await call_engine(OPEN)
    h.sim.set_behaviour(FIRST, Behaviour.answer_after(1.0, talk=6.0))
    frames: list[dict[str, Any]] = []
    handle = ari_stream.EventStream._handle_text

    def keep(self: ari_stream.EventStream, text: str) -> None:
        frames.append(json.loads(text))
        handle(self, text)

    monkeypatch.setattr(ari_stream.EventStream, "_handle_text", keep)
    call = await h.call(GANGNAM, "01020000000")
    trace = await h.finished(call)
    assert trace.answered_target == FIRST
    start = next(i for i, f in enumerate(frames) if f["type"] == "StasisStart")
    return frames[start:]


async def test_each_party_gets_the_events_a_real_asterisk_sends(
    call_engine: EngineFactory,
    monkeypatch: pytest.MonkeyPatch,
    recorded_call: list[dict[str, Any]],
) -> None:
    real = sequences(recorded_call)
    assert real == {
        "caller": ["StasisStart", "PlaybackFinished", "ChannelHangupRequest", "StasisEnd"],
        "callee": [
            "StasisStart",
            "PlaybackFinished",
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelDestroyed",
        ],
    }
    simulated = await simulated_call(call_engine, monkeypatch)
    assert sequences(simulated) == real
    assert replies(simulated) == replies(recorded_call)


async def test_events_carry_the_fields_a_real_asterisk_sends(
    call_engine: EngineFactory,
    monkeypatch: pytest.MonkeyPatch,
    recorded_call: list[dict[str, Any]],
) -> None:
    simulated = shapes(await simulated_call(call_engine, monkeypatch))
    real = shapes(recorded_call)
    assert {k: sorted(v) for k, v in simulated.items()} == {k: sorted(v) for k, v in real.items()}
