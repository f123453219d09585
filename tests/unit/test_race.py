"""race(): a call's request against its parties' hangups, and ARI errors a hangup explains.

Asterisk answers a request and publishes the hangup's events independently, so the error
reply of a request racing a hangup (addChannel 400 "Channel not found") can arrive before
the hangup's events: the hangup then still wins, and the error is logged with the call id.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from ivr_engine.asterisk.ari.errors import AriBadRequest, AriError
from ivr_engine.calls.legs import CallerGone, ChannelGone, LegWatch, race

CALL = "1795310575.1"
ADD_FAILED = AriBadRequest(400, "Channel not found", "POST", "/bridges/b1/addChannel")


class Port:
    """The events port a LegWatch needs; the tests set ``gone`` themselves."""

    def subscribe(self, handler: Any, **kw: Any) -> Any:
        raise AssertionError("not subscribed in these tests")

    def expect(self, types: Any, predicate: Any = None, **kw: Any) -> Any:
        raise AssertionError("not used")


def watches() -> tuple[LegWatch, LegWatch]:
    return LegWatch(CALL, Port()), LegWatch(f"{CALL}-t1", Port())


async def failing(error: AriError, sent: list[str]) -> None:
    sent.append("sent")
    raise error


async def test_an_error_reply_before_the_callees_hangup_is_the_hangup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caller, callee = watches()
    asyncio.get_running_loop().call_later(0.05, callee.gone.set)  # its events come later
    caplog.set_level(logging.INFO, logger="ivr_engine.calls.legs")
    with pytest.raises(ChannelGone) as info:
        await race(failing(ADD_FAILED, []), caller, callee, timeout=5)
    assert not isinstance(info.value, CallerGone) and info.value.channel_id == callee.channel_id
    assert info.value.__cause__ is ADD_FAILED
    (line,) = [r.getMessage() for r in caplog.records]
    assert CALL in line and "addChannel -> 400: Channel not found" in line and "hung up" in line


async def test_the_caller_wins_when_both_left() -> None:
    caller, callee = watches()
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, caller.gone.set)
    loop.call_later(0.02, callee.gone.set)
    with pytest.raises(CallerGone):
        await race(failing(ADD_FAILED, []), caller, callee, timeout=5)


async def test_an_error_no_hangup_explains_is_raised_after_the_grace() -> None:
    caller, callee = watches()
    with pytest.raises(AriBadRequest):
        await race(failing(ADD_FAILED, []), caller, callee, timeout=5)


async def test_nothing_is_sent_to_a_party_already_gone() -> None:
    caller, callee = watches()
    callee.gone.set()
    sent: list[str] = []
    with pytest.raises(ChannelGone):
        await race(failing(ADD_FAILED, sent), caller, callee, timeout=5)
    assert sent == []


async def test_a_hangup_while_waiting_ends_the_wait() -> None:
    caller, callee = watches()
    asyncio.get_running_loop().call_later(0.02, caller.gone.set)
    with pytest.raises(CallerGone):
        await race(asyncio.Event().wait(), caller, callee)
