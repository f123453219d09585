"""ARI event parsing against a real Asterisk 22.10.1 event stream, and the dispatcher."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ivr_engine.asterisk.ari import Backoff, Dispatcher
from ivr_engine.asterisk.ari import events as ev
from ivr_engine.asterisk.constants import SOFT_HANGUP_EXPLICIT, cause_txt, sip_to_cause

DATA = Path(__file__).resolve().parent.parent / "data" / "ari_events_22.10.1.jsonl"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "asterisk-facts" / "observed-22.10.1"


def _recorded() -> list[dict[str, Any]]:
    """The recorded stream, minus the recorder's own ``t`` offset."""
    path = DATA if DATA.exists() else SHARED / "sip_facts_ari_events.jsonl"
    if not path.exists():
        pytest.skip("recorded ARI event stream not available")
    rows = []
    for line in path.read_text().splitlines():
        raw = json.loads(line)
        raw.pop("t", None)
        rows.append(raw)
    return rows


def _channel(**extra: Any) -> dict[str, Any]:
    return {"id": "1.1", "name": "PJSIP/a-1", "state": "Ring", **extra}


def test_every_recorded_event_parses_to_its_typed_class() -> None:
    rows = _recorded()
    assert len(rows) > 200
    for raw in rows:
        event = ev.parse_event(raw)
        assert event.type == raw["type"]
        assert not isinstance(event, ev.UnknownEvent), raw["type"]
        assert type(event) is ev.EVENT_CLASSES[raw["type"]]
        assert isinstance(event.timestamp, datetime)
        assert event.application == "probe"


def test_recorded_hangups_carry_the_observed_causes() -> None:
    parsed = [ev.parse_event(raw) for raw in _recorded()]
    requests = [e for e in parsed if isinstance(e, ev.ChannelHangupRequest)]
    soft = [e for e in requests if e.soft]
    # H: ARI DELETE gives {32, soft}; a subscribed bridged inbound channel then {16, soft}
    assert SOFT_HANGUP_EXPLICIT in {e.cause for e in soft}
    assert {e.cause for e in soft} <= {SOFT_HANGUP_EXPLICIT, 16}
    bye = [e for e in requests if e.cause is None]
    assert bye and all(e.soft is None and e.tech_cause is None for e in bye)
    destroyed = [e for e in parsed if isinstance(e, ev.ChannelDestroyed)]
    busy = [e for e in destroyed if e.cause == 17]
    assert busy and busy[0].cause_txt == "User busy" and busy[0].tech_cause == 486
    for e in destroyed:
        assert e.cause_txt == cause_txt(e.cause)
        if e.tech_cause is not None and e.tech_cause >= 400:
            assert sip_to_cause(e.tech_cause) == e.cause


def test_recorded_stasis_start_and_dial_fields() -> None:
    parsed = [ev.parse_event(raw) for raw in _recorded()]
    start = next(e for e in parsed if isinstance(e, ev.StasisStart))
    assert start.args == ("inbound",)
    assert start.channel.state == "Ring"
    assert start.channel.dialplan.app_name == "Stasis"
    dials = [e for e in parsed if isinstance(e, ev.Dial)]
    assert {d.dialstatus for d in dials} >= {"", "RINGING", "ANSWER"}
    assert all(d.caller is None for d in dials)  # H: no caller key even with ?caller=
    finished = [e for e in parsed if isinstance(e, ev.PlaybackFinished)]
    assert finished[0].playback.channel_id == start.channel.id


def test_timestamp_keeps_the_offset() -> None:
    raw = {
        "type": "StasisEnd",
        "timestamp": "2025-03-01T14:05:09.123+0900",
        "channel": _channel(creationtime="2025-03-01T14:05:09.001+0900"),
    }
    event = ev.parse_event(raw)
    assert event.timestamp == datetime(2025, 3, 1, 5, 5, 9, 123000, tzinfo=UTC)
    assert event.timestamp.utcoffset() == timedelta(hours=9)
    assert isinstance(event, ev.StasisEnd)
    assert event.channel.creationtime == datetime(
        2025, 3, 1, 14, 5, 9, 1000, tzinfo=timezone(timedelta(hours=9))
    )


def test_optional_fields_default_and_dtmf_parses() -> None:
    hangup = ev.parse_event({"type": "ChannelHangupRequest", "channel": _channel()})
    assert isinstance(hangup, ev.ChannelHangupRequest)
    assert (hangup.cause, hangup.soft, hangup.tech_cause) == (None, None, None)
    dtmf = ev.parse_event(
        {"type": "ChannelDtmfReceived", "digit": "#", "duration_ms": 120, "channel": _channel()}
    )
    assert isinstance(dtmf, ev.ChannelDtmfReceived)
    assert (dtmf.digit, dtmf.duration_ms) == ("#", 120)


def test_unknown_type_and_fields_are_tolerated_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "ivr_engine.asterisk.ari")
    for _ in range(3):
        unknown = ev.parse_event({"type": "FancyNewEvent", "x": 1})
        assert isinstance(unknown, ev.UnknownEvent)
        assert unknown.raw["x"] == 1
        varset = ev.parse_event(
            {
                "type": "ChannelVarset",
                "variable": "A",
                "value": "1",
                "brand_new_field": 2,
                "channel": _channel(shiny=True),
            }
        )
        assert isinstance(varset, ev.ChannelVarset) and varset.value == "1"
    text = caplog.text
    assert text.count("'FancyNewEvent'") == 1
    assert text.count("'brand_new_field'") == 1
    assert text.count("'shiny'") == 1


def test_malformed_known_event_raises_value_error() -> None:
    with pytest.raises(ValueError, match="PlaybackFinished"):
        ev.parse_event({"type": "PlaybackFinished"})
    with pytest.raises((ValueError, KeyError)):
        ev.parse_event({"type": "StasisStart", "channel": {"name": "no id"}})


def _pb(kind: str, pid: str, target: str) -> ev.Event:
    return ev.parse_event(
        {
            "type": kind,
            "playback": {"id": pid, "media_uri": "sound:x", "target_uri": target, "state": "done"},
        }
    )


def test_dispatch_by_type_by_id_and_catch_all() -> None:
    d = Dispatcher()
    by_type: list[ev.Event] = []
    by_chan: list[ev.Event] = []
    every: list[ev.Event] = []
    d.subscribe(by_type.append, types=ev.PlaybackFinished)
    sub = d.subscribe(by_chan.append, channel_id="c1")
    d.subscribe(every.append)
    d.dispatch(_pb("PlaybackStarted", "p1", "channel:c1"))
    d.dispatch(_pb("PlaybackFinished", "p1", "channel:c1"))
    d.dispatch(_pb("PlaybackFinished", "p2", "channel:c2"))
    assert [e.type for e in by_type] == ["PlaybackFinished", "PlaybackFinished"]
    assert [e.type for e in by_chan] == ["PlaybackStarted", "PlaybackFinished"]
    assert len(every) == 3
    sub.close()
    d.dispatch(_pb("PlaybackFinished", "p3", "channel:c1"))
    assert len(by_chan) == 2 and len(every) == 4


def test_abstract_type_subscribes_to_every_subclass_and_handler_errors_are_contained() -> None:
    d = Dispatcher()
    got: list[str] = []

    def boom(_: ev.Event) -> None:
        raise RuntimeError("handler bug")

    d.subscribe(boom)
    d.subscribe(lambda e: got.append(e.type), types=ev.PlaybackEvent)
    d.dispatch(_pb("PlaybackStarted", "p", "bridge:b"))
    d.dispatch(_pb("PlaybackContinuing", "p", "bridge:b"))
    assert got == ["PlaybackStarted", "PlaybackContinuing"]


async def test_waiter_registered_at_creation_takes_first_match_only() -> None:
    d = Dispatcher()
    async with d.expect(ev.PlaybackFinished, lambda e: e.playback.id == "p2") as waiter:
        d.dispatch(_pb("PlaybackFinished", "p1", "channel:c"))
        assert waiter.event is None
        d.dispatch(_pb("PlaybackFinished", "p2", "channel:c"))
        first = await waiter.wait(timeout=1)
        d.dispatch(_pb("PlaybackFinished", "p2", "channel:x"))
        assert (await waiter.wait(timeout=1)) is first
        assert first.playback.channel_id == "c"
    assert not d._by_type  # unregistered


async def test_waiter_times_out_and_can_wait_again() -> None:
    d = Dispatcher()
    with d.expect("Dial", channel_id="c9") as waiter:
        with pytest.raises(TimeoutError):
            await waiter.wait(timeout=0.01)
        d.dispatch(
            ev.parse_event({"type": "Dial", "dialstatus": "ANSWER", "peer": _channel(id="c9")})
        )
        dial = await waiter.wait(timeout=1)
        assert isinstance(dial, ev.Dial) and dial.dialstatus == "ANSWER"


async def test_a_cancelled_wait_leaves_the_waiter_usable() -> None:
    d = Dispatcher()
    with d.expect("Dial", channel_id="c9") as waiter:
        task = asyncio.ensure_future(waiter.wait())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        d.dispatch(ev.parse_event({"type": "Dial", "peer": _channel(id="c9")}))
        assert isinstance(await waiter.wait(), ev.Dial)


def test_backoff_is_capped_full_jitter() -> None:
    b = Backoff(base=0.5, cap=4.0, rng=random.Random(7))
    for attempt in range(40):
        bound = min(4.0, 0.5 * 2**attempt)
        samples = [b.delay(attempt) for _ in range(50)]
        assert all(0.0 <= s <= bound for s in samples)
    late = [b.delay(30) for _ in range(500)]
    assert max(late) > 3.0 and min(late) < 1.0  # full jitter spreads over [0, cap]
