"""The cause a LegWatch keeps, from the hangup events Asterisk 22.10.1 sends (facts H).

A party's BYE gives a ChannelHangupRequest without cause keys (a caller's and a callee's
alike, observed); an ARI DELETE gives {cause 32, soft}; a rejection or a CANCEL carries its
Q.850 cause; ChannelDestroyed, where it comes, carries the final one.
"""

from __future__ import annotations

from typing import Any

import pytest

from ivr_engine.asterisk.ari.events import parse_event
from ivr_engine.calls.legs import LegWatch

CHANNEL = {"id": "c1", "name": "PJSIP/carrier-00000001", "state": "Up"}


class Port:
    def subscribe(self, handler: Any, **kw: Any) -> Any:
        raise AssertionError("not subscribed in these tests")

    def expect(self, types: Any, predicate: Any = None, **kw: Any) -> Any:
        raise AssertionError("not used")


def request(**fields: Any) -> dict[str, Any]:
    return {"type": "ChannelHangupRequest", "channel": CHANNEL, **fields}


def destroyed(cause: int) -> dict[str, Any]:
    return {"type": "ChannelDestroyed", "channel": CHANNEL, "cause": cause, "cause_txt": ""}


END = {"type": "StasisEnd", "channel": CHANNEL}


@pytest.mark.parametrize(
    ("events", "cause", "far_end"),
    [
        ([request(), END], 16, True),  # a caller's BYE, no ChannelDestroyed
        ([request(), END, destroyed(16)], 16, True),  # a callee's BYE
        ([request(), END, destroyed(17)], 17, True),  # a BYE with a Reason of 17
        ([request(cause=17, tech_cause=486), END, destroyed(17)], 17, True),  # busy
        ([request(cause=127, tech_cause=487), END], 127, True),  # CANCEL
        ([request(cause=32, soft=True), END], None, False),  # ARI DELETE: the engine says why
        ([request(cause=32, soft=True), END, destroyed(19)], 19, False),  # dial timeout
        ([END], None, False),  # left the app, nothing known
    ],
)
def test_the_cause_kept(events: list[dict[str, Any]], cause: int | None, far_end: bool) -> None:
    watch = LegWatch("c1", Port())
    for raw in events:
        watch._on_event(parse_event(raw))
    assert (watch.cause, watch.hangup_by_far_end, watch.gone.is_set()) == (cause, far_end, True)
