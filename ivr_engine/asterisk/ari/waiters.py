"""Event delivery: subscriptions (by type, by channel/bridge/playback id, or all) and waiters.

A waiter is registered the moment ``expect`` is called, so the pattern

    async with stream.expect(PlaybackFinished, lambda e: e.playback.id == pid) as waiter:
        await client.play(channel_id, media, playback_id=pid)
        event = await waiter.wait(timeout=30)

never loses an event that arrives before the HTTP reply ("subscribe before you act").
Handlers run synchronously in the event reader, in wire order: they must not block (a call
session typically puts the event on its own queue).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Generic, TypeVar, cast

from ivr_engine.asterisk.ari.events import Event

log = logging.getLogger("ivr_engine.asterisk.ari")

E = TypeVar("E", bound=Event)
Handler = Callable[[Event], None]
EventKind = type[Event] | str


_TYPE_NAMES: dict[EventKind, frozenset[str]] = {}


def _type_names(types: EventKind | Iterable[EventKind] | None) -> frozenset[str] | None:
    """Event type names from classes and/or strings (None = every type); the set for one
    class or name is built once and shared by every subscription to it."""
    if types is None or isinstance(types, frozenset):  # None, or names already (a waiter's)
        return types
    if isinstance(types, str | type):
        names = _TYPE_NAMES.get(types)
        if names is None:
            names = _TYPE_NAMES[types] = _names_of((types,))
        return names
    return _names_of(types)


def _names_of(items: Iterable[EventKind]) -> frozenset[str]:
    """The type names of classes and/or strings; an abstract base names its subclasses."""
    names = set()
    for item in items:
        if isinstance(item, str):
            names.add(item)
        elif item.TYPE:
            names.add(item.TYPE)
        else:  # an abstract base such as PlaybackEvent: every concrete subclass
            names.update(t for t, cls in _all_classes().items() if issubclass(cls, item))
    return frozenset(names)


def _wake(woken: asyncio.Future[None], _source: object) -> None:
    """Wake a waiting ``Waiter.wait`` (its event came, or its time is up)."""
    if not woken.done():
        woken.set_result(None)


def _all_classes() -> dict[str, type[Event]]:
    from ivr_engine.asterisk.ari.events import EVENT_CLASSES

    return EVENT_CLASSES


class Subscription:
    """A registered handler; ``close()`` removes it (idempotent). Slotted, its ids a tuple:
    every channel a call follows holds one for the call's whole life."""

    __slots__ = ("closed", "dispatcher", "handler", "ids", "types")

    def __init__(
        self,
        dispatcher: Dispatcher,
        handler: Handler,
        types: frozenset[str] | None,
        ids: tuple[str, ...] | None,
    ) -> None:
        self.dispatcher = dispatcher
        self.handler = handler
        self.types = types
        self.ids = ids
        self.closed = False

    def close(self) -> None:
        """Stop receiving events."""
        if not self.closed:
            self.closed = True
            self.dispatcher._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Waiter(Generic[E]):
    """Waits for the first event matching its types and predicate, registered at creation."""

    __slots__ = ("_future", "_predicate", "_sub")

    def __init__(
        self,
        dispatcher: Dispatcher,
        types: frozenset[str] | None,
        predicate: Callable[[E], bool] | None,
        ids: Iterable[str] | None,
    ) -> None:
        self._future: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        self._predicate = predicate
        self._sub = dispatcher.subscribe(self._offer, types=types, ids=ids)

    def _offer(self, event: Event) -> None:
        """Take the event if it is the first match."""
        if self._future.done():
            return
        ev = cast(E, event)
        if self._predicate is None or self._predicate(ev):
            self._future.set_result(ev)
            self._sub.close()

    @property
    def event(self) -> E | None:
        """The matched event, or None if none has arrived yet."""
        return self._future.result() if self._future.done() else None

    async def wait(self, timeout: float | None = None) -> E:  # noqa: ASYNC109
        """The matched event; raises TimeoutError after ``timeout`` seconds without one."""
        future = self._future
        if not future.done():
            # What asyncio.wait([future], timeout) does, without its sets and closures: a
            # call has a waiter waiting at almost every moment of its setup.
            loop = future.get_loop()
            woken: asyncio.Future[None] = loop.create_future()
            wake = functools.partial(_wake, woken)
            future.add_done_callback(wake)
            timer = loop.call_later(timeout, wake, None) if timeout is not None else None
            try:
                await woken
            finally:
                future.remove_done_callback(wake)
                if timer is not None:
                    timer.cancel()
            if not future.done():
                raise TimeoutError(f"no matching ARI event within {timeout} s")
        return future.result()

    def cancel(self) -> None:
        """Stop waiting (also done on leaving the ``with`` block)."""
        self._sub.close()
        if not self._future.done():
            self._future.cancel()

    def __enter__(self) -> Waiter[E]:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()

    async def __aenter__(self) -> Waiter[E]:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()


class Dispatcher:
    """Routes each event to the subscriptions for its type, its ids, and the catch-alls."""

    def __init__(self) -> None:
        self._by_type: dict[str, list[Subscription]] = {}
        self._by_id: dict[str, list[Subscription]] = {}
        self._all: list[Subscription] = []

    def subscribe(
        self,
        handler: Handler,
        *,
        types: EventKind | Iterable[EventKind] | None = None,
        channel_id: str | None = None,
        ids: Iterable[str] | None = None,
    ) -> Subscription:
        """Call ``handler`` for events of ``types`` (all if None) about ``channel_id``/``ids``
        (a channel, bridge or playback id; any if None)."""
        if channel_id is not None:
            id_list = (channel_id,) if ids is None else tuple(dict.fromkeys((*ids, channel_id)))
        else:
            id_list = () if ids is None else tuple(dict.fromkeys(ids))
        sub = Subscription(self, handler, _type_names(types), id_list or None)
        if sub.ids:
            for ident in sub.ids:
                self._by_id.setdefault(ident, []).append(sub)
        elif sub.types is not None:
            for name in sub.types:
                self._by_type.setdefault(name, []).append(sub)
        else:
            self._all.append(sub)
        return sub

    def expect(
        self,
        types: type[E] | Iterable[EventKind] | str,
        predicate: Callable[[E], bool] | None = None,
        *,
        channel_id: str | None = None,
    ) -> Waiter[E]:
        """A waiter for the first event of ``types`` (optionally about ``channel_id``) for which
        ``predicate`` holds. Registered now: create it before sending the REST call."""
        ids = (channel_id,) if channel_id is not None else None
        return Waiter(self, _type_names(types), predicate, ids)

    def dispatch(self, event: Event) -> int:
        """Deliver one event; returns how many handlers got it. A failing handler is logged."""
        targets = list(self._by_type.get(event.type, ()))
        targets.extend(self._all)
        if self._by_id:
            seen: set[int] = set()
            for ident in event.related_ids():
                for sub in self._by_id.get(ident, ()):
                    if id(sub) not in seen and (sub.types is None or event.type in sub.types):
                        seen.add(id(sub))
                        targets.append(sub)
        for sub in targets:
            if sub.closed:
                continue
            try:
                sub.handler(event)
            except Exception:
                log.exception("ARI event handler failed on %s", event.type)
        return len(targets)

    def _remove(self, sub: Subscription) -> None:
        """Unregister a closed subscription from every index it is in."""
        buckets: list[tuple[dict[str, list[Subscription]], str]] = []
        if sub.ids:
            buckets = [(self._by_id, ident) for ident in sub.ids]
        elif sub.types is not None:
            buckets = [(self._by_type, name) for name in sub.types]
        else:
            self._all.remove(sub)
        for index, key in buckets:
            subs = index.get(key)
            if subs is not None:
                subs.remove(sub)
                if not subs:
                    del index[key]
