"""What a call session needs from the outside world, as Protocols.

``calls/`` depends on these, not on aiohttp or asyncpg: ``AriClient`` and ``EventStream``
(``asterisk/ari``) satisfy ``AriPort`` and ``EventPort``; ``ConfigCache`` (``store/``)
satisfies ``ConfigSource``. The database ports of queues and callback requests are in
``ports_store.py``. Tests and the FastAGI executor can supply their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ivr_engine.asterisk.ari.events import Event
from ivr_engine.asterisk.ari.models import Application, Bridge, Channel, Playback
from ivr_engine.asterisk.ari.waiters import Subscription, Waiter
from ivr_engine.domain.model import NumberConfig
from ivr_engine.domain.numbers import mask

log = logging.getLogger(__name__)


class ConfigSource(Protocol):
    """Where a session reads a number's configuration (a cache in front of Postgres)."""

    async def get(self, number: str) -> NumberConfig | None:
        """The number's resolved config, or None when the number is not ours."""
        ...

    def last_known(self, number: str) -> NumberConfig | None:
        """The last configuration known for the number, without I/O (used when the
        database cannot be reached)."""
        ...


class AriPort(Protocol):
    """The ARI REST calls of call sessions, queues and call-backs (``AriClient``'s)."""

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Sequence[str] = (),
        caller_id: str | None = None,
        dial_timeout: int | None = None,
        channel_id: str | None = None,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Originate a leg into the app; its StasisStart comes when it answers."""
        ...

    async def answer(self, channel_id: str) -> None:
        """Answer a channel (held behind a running playback)."""
        ...

    async def ring(self, channel_id: str) -> None:
        """Indicate ringing to the caller."""
        ...

    async def ring_stop(self, channel_id: str) -> None:
        """Stop the ringing indication (and the in-band tone Asterisk plays for it)."""
        ...

    async def get_channel(self, channel_id: str) -> Channel:
        """A channel's snapshot (AriNotFound once it is gone)."""
        ...

    async def get_variable(self, channel_id: str, variable: str) -> str | None:
        """A channel variable's value; None when it is not set."""
        ...

    async def set_variable(
        self, channel_id: str, variable: str, value: str, *, reply_timeout: float | None = None
    ) -> None:
        """Set a channel variable (waits behind a running playback)."""
        ...

    async def play(
        self, channel_id: str, media: str | Sequence[str], *, playback_id: str | None = None
    ) -> Playback:
        """Queue media on a channel (early media when not answered)."""
        ...

    async def stop_playback(self, playback_id: str, *, missing_ok: bool = False) -> bool:
        """Stop a playback; a finished one is gone (404) which missing_ok accepts."""
        ...

    async def hangup(
        self,
        channel_id: str,
        *,
        reason: str | None = None,
        reason_code: int | None = None,
        missing_ok: bool = False,
    ) -> bool:
        """Hang a channel up with a reason or a Q.850 cause."""
        ...

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Hand the channel back to the dialplan (its fallback after Stasis)."""
        ...

    async def create_bridge(
        self,
        type: str | Sequence[str] = "mixing",
        *,
        name: str | None = None,
        bridge_id: str | None = None,
    ) -> Bridge:
        """Create a Stasis bridge."""
        ...

    async def add_channel(
        self,
        bridge_id: str,
        channels: str | Iterable[str],
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        reply_timeout: float | None = None,
    ) -> None:
        """Put channels into a bridge."""
        ...

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        """Play media to everyone in the bridge."""
        ...

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        """Play music on hold to the bridge."""
        ...

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        """Stop the bridge's music on hold."""
        ...

    async def destroy_bridge(self, bridge_id: str, *, missing_ok: bool = False) -> bool:
        """Destroy a bridge."""
        ...

    async def list_channels(self) -> list[Channel]:
        """Every channel Asterisk has (to adopt calls after a restart)."""
        ...

    async def list_bridges(self) -> list[Bridge]:
        """Every bridge Asterisk has."""
        ...

    async def set_event_filter(
        self, app: str, allowed: Iterable[str] = (), disallowed: Iterable[str] = ()
    ) -> Application:
        """Let only these event types reach the app (set again on every connect)."""
        ...


class EventPort(Protocol):
    """Subscribing to ARI events (the events WebSocket's dispatcher)."""

    def subscribe(
        self,
        handler: Callable[[Event], None],
        *,
        types: Any = None,
        channel_id: str | None = None,
        ids: Iterable[str] | None = None,
    ) -> Subscription:
        """Call ``handler`` for matching events until the subscription is closed."""
        ...

    def expect(
        self,
        types: Any,
        predicate: Callable[[Any], bool] | None = None,
        *,
        channel_id: str | None = None,
    ) -> Waiter[Any]:
        """A one-shot waiter, registered now (before the REST call it waits on)."""
        ...


Clock = Callable[[], datetime]


class ConfigUnavailable(Exception):
    """The number's configuration could not be read and no copy of it is known."""


async def load_config(configs: ConfigSource, number: str, timeout: float) -> NumberConfig | None:  # noqa: ASYNC109
    """A number's configuration for a call: from the source within ``timeout`` seconds, else
    the last copy known while the database is unreachable; ConfigUnavailable when neither."""
    try:
        # In the session's own task (wait_for would make one per call for a cache hit).
        async with asyncio.timeout(timeout):
            return await configs.get(number)
    except Exception as exc:
        cached = configs.last_known(number)
        if cached is None:
            raise ConfigUnavailable(str(exc) or type(exc).__name__) from exc
        log.warning("configuration of %s from memory (database: %s)", mask(number), exc)
        return cached
