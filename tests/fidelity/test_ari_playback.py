"""Playback facts and the per-channel command queue (sections A.2, A.3, H)."""

from __future__ import annotations

import asyncio

from tests.fidelity.conftest import Target
from tests.fidelity.test_ari_channels import snoop_channel
from tests.fidelity.wire import AriWire, EventStream


async def test_play_is_201_queued_with_location(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    r = await ari.call(
        "POST", f"/channels/{sid}/play", {"media": "sound:hello-world", "playbackId": "fid-pb1"}
    )
    assert r.status == 201 and r.body["state"] == "queued"
    assert r.headers["Location"].endswith("/playbacks/fid-pb1")
    assert r.body["target_uri"] == f"channel:{sid}"
    await events.wait_type("PlaybackStarted", pb="fid-pb1", since=m)
    g = await ari.call("GET", "/playbacks/fid-pb1")
    assert g.body["state"] == "playing"
    fin = await events.wait_type("PlaybackFinished", pb="fid-pb1", since=m)
    assert fin["playback"]["state"] == "done"
    r = await ari.call("DELETE", "/playbacks/fid-pb1")
    assert (r.status, r.message) == (404, "Playback not found")


async def test_answer_is_held_until_the_playback_ends(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    await ari.call(
        "POST", f"/channels/{sid}/play", {"media": "sound:hello-world", "playbackId": "fid-hold"}
    )
    await events.wait_type("PlaybackStarted", pb="fid-hold", since=m)
    answer = await ari.call("POST", f"/channels/{sid}/answer")
    finished_at, _ = await events.wait(
        lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == "fid-hold", m
    )
    assert answer.status == 204
    assert answer.at >= finished_at - 0.005


async def test_set_variable_is_held_behind_a_playback(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    await ari.call(
        "POST", f"/channels/{sid}/play", {"media": "sound:hello-world", "playbackId": "fid-var"}
    )
    await events.wait_type("PlaybackStarted", pb="fid-var", since=m)
    r = await ari.call("POST", f"/channels/{sid}/variable", {"variable": "V", "value": "1"})
    finished_at, _ = await events.wait(
        lambda e: e["type"] == "PlaybackFinished" and e["playback"]["id"] == "fid-var", m
    )
    assert r.status == 204 and r.at >= finished_at - 0.005


async def test_missing_sound_starts_then_fails(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    r = await ari.call(
        "POST",
        f"/channels/{sid}/play",
        {"media": "sound:fid-no-such-sound", "playbackId": "fid-miss"},
    )
    assert r.status == 201
    await events.wait_type("PlaybackFinished", pb="fid-miss", since=m)
    assert events.playback_events("fid-miss", m) == [
        ("PlaybackStarted", "playing"),
        ("PlaybackFinished", "failed"),
    ]


async def test_list_with_missing_first_item_continues(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    r = await ari.call(
        "POST",
        f"/channels/{sid}/play",
        {"media": "sound:fid-no-such,sound:beep", "playbackId": "fid-list"},
    )
    assert r.body["next_media_uri"] == "sound:beep"
    fin = await events.wait_type("PlaybackFinished", pb="fid-list", since=m)
    assert events.playback_events("fid-list", m) == [
        ("PlaybackStarted", "playing"),
        ("PlaybackContinuing", "continuing"),
        ("PlaybackStarted", "playing"),
        ("PlaybackFinished", "done"),
    ]
    assert fin["playback"]["media_uri"] == "sound:beep"


async def test_second_play_waits_queued_and_stopping_it_skips_started(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    await ari.call("POST", f"/channels/{sid}/play", {"media": "tone:ring", "playbackId": "fid-a"})
    await ari.call("POST", f"/channels/{sid}/play", {"media": "sound:beep", "playbackId": "fid-q"})
    await events.wait_type("PlaybackStarted", pb="fid-a", since=m)
    assert (await ari.call("GET", "/playbacks/fid-q")).body["state"] == "queued"
    assert (await ari.call("DELETE", "/playbacks/fid-q")).status == 204
    assert (await ari.call("DELETE", "/playbacks/fid-a")).status == 204
    await events.wait_type("PlaybackFinished", pb="fid-q", since=m)
    await events.wait_type("PlaybackFinished", pb="fid-a", since=m)
    assert events.playback_events("fid-q", m) == [("PlaybackFinished", "done")]
    assert events.playback_events("fid-a", m) == [
        ("PlaybackStarted", "playing"),
        ("PlaybackFinished", "done"),
    ]


async def test_tone_plays_until_stopped(ari: AriWire, events: EventStream, target: Target) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    await ari.call("POST", f"/channels/{sid}/play", {"media": "tone:ring", "playbackId": "fid-t"})
    await events.wait_type("PlaybackStarted", pb="fid-t", since=m)
    answer = asyncio.create_task(ari.call("POST", f"/channels/{sid}/answer"))
    done, _ = await asyncio.wait({answer}, timeout=0.3)
    assert not done, "answer must stay held behind a tone: playback"
    await ari.call("DELETE", "/playbacks/fid-t")
    assert (await answer).status == 204


async def test_playback_control_needs_a_playing_media(
    ari: AriWire, events: EventStream, target: Target
) -> None:
    _, sid = await snoop_channel(ari, events, target)
    m = events.mark()
    await ari.call("POST", f"/channels/{sid}/play", {"media": "tone:ring", "playbackId": "fid-c"})
    await ari.call("POST", f"/channels/{sid}/play", {"media": "sound:beep", "playbackId": "fid-c2"})
    await events.wait_type("PlaybackStarted", pb="fid-c", since=m)
    r = await ari.call("POST", "/playbacks/fid-c/control", {"operation": "bogus"})
    assert r.status == 400
    assert (
        await ari.call("POST", "/playbacks/fid-c/control", {"operation": "pause"})
    ).status == 204
    r = await ari.call("POST", "/playbacks/fid-c2/control", {"operation": "pause"})
    assert r.status == 409
    await ari.call("DELETE", "/playbacks/fid-c2")
    await ari.call("DELETE", "/playbacks/fid-c")
