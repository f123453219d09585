"""The AMI connection: open, log in, read, route replies and events, reconnect.

``AmiClient`` (client.py) adds the actions on top. panoramisk 1.4's ``Manager`` is not used
for this part: it reconnects at a fixed interval without backoff, keeps reconnecting forever
after a refused login without telling the caller, leaves pending actions hanging when the
connection drops, and spawns untracked handler tasks. Its message parser is used
(``protocol.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import itertools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from panoramisk.message import Message

from ivr_engine.asterisk.ami import events as ev
from ivr_engine.asterisk.ami import protocol as proto
from ivr_engine.asterisk.ami.protocol import (
    AmiActionError,
    AmiAuthError,
    AmiConnectionError,
    encode_action,
)
from ivr_engine.asterisk.ari.stream import Backoff

log = logging.getLogger("ivr_engine.asterisk.ami")

EventHandler = Callable[[Message], Awaitable[None]]


class AmiState(enum.StrEnum):
    """Where the AMI connection is."""

    IDLE = "idle"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth_failed"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class AmiHealth:
    """A snapshot for readiness checks."""

    state: AmiState
    since: float
    connects: int
    failed_attempts: int
    last_error: str | None

    @property
    def ready(self) -> bool:
        """True while logged in."""
        return self.state is AmiState.CONNECTED


def _completes(pending: _Pending, message: Message, event: str) -> bool:
    """Whether ``message`` is the last one an action waits for."""
    if len(pending.messages) == 1:  # the Response itself
        return not message.success or not (pending.is_list or pending.final_event)
    if pending.final_event:
        return event == pending.final_event
    return pending.is_list and event.endswith("Complete")


@dataclass(eq=False)
class _Pending:
    """An action waiting for its reply (and, for lists / originate, its events)."""

    name: str
    future: asyncio.Future[list[Message]]
    is_list: bool = False
    final_event: str | None = None
    messages: list[Message] = field(default_factory=list)


class AmiConnection:
    """One logged-in AMI connection with automatic reconnect; base of ``AmiClient``.

    With ``event_filter`` (the default) every login narrows the session to the events that
    have handlers plus those the client waits for (``events.py``): the eventmask by class
    at login, then an include ``Filter``; a handler registered later widens both at once.
    ``events`` overrides the login eventmask. ``event_counts`` counts the events received.
    """

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        secret: str,
        *,
        events: str | None = None,
        event_filter: bool = True,
        backoff: Backoff | None = None,
        action_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
    ) -> None:
        self.host, self.port, self.user = host, port, user
        self._secret = secret
        self._events = events
        self.event_filter = event_filter
        self.event_counts: Counter[str] = Counter()
        self._wanted = {n.lower(): n for n in ev.CLIENT_EVENTS}
        self._mask = ""
        self._filtered: set[str] | None = None  # names this session lets through; None: all
        self._filter_refused = False
        self.backoff = backoff or Backoff()
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.version = ""
        self._ids = itertools.count(1)
        self._prefix = f"ivr-{id(self):x}"
        self._pending: dict[str, _Pending] = {}
        self._handlers: dict[str, list[EventHandler]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._handler_tasks: set[asyncio.Task[object]] = set()
        self._connected = asyncio.Event()
        self._state, self._since, self._connects, self._failed = AmiState.IDLE, time.time(), 0, 0
        self._last_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def connect(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Connect and log in; raises AmiAuthError (bad secret) or AmiConnectionError.
        Afterwards the connection is kept up in the background."""
        async with asyncio.timeout(timeout):
            await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def close(self) -> None:
        """Log off, stop reconnecting, fail pending actions."""
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._writer is not None and self._connected.is_set():
            with contextlib.suppress(AmiConnectionError, AmiActionError, TimeoutError):
                await self._send({"Action": "Logoff"}, timeout=1.0)
        await self._drop("closed")
        for t in list(self._handler_tasks):
            t.cancel()
        await asyncio.gather(*self._handler_tasks, return_exceptions=True)
        self._set_state(AmiState.CLOSED)

    async def __aenter__(self) -> AmiConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def health(self) -> AmiHealth:
        """The current health snapshot."""
        return AmiHealth(self._state, self._since, self._connects, self._failed, self._last_error)

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once logged in; TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    # -- events ------------------------------------------------------------------------------
    def on_event(self, name: str, handler: EventHandler) -> None:
        """Call ``await handler(message)`` for every event ``name`` (``*`` for all)."""
        if not inspect.iscoroutinefunction(handler):
            raise TypeError("AMI event handlers must be 'async def' functions")
        self._handlers.setdefault(name.lower(), []).append(handler)
        if name != "*":
            self._wanted.setdefault(name.lower(), name)
        if self._connected.is_set():
            self._widen(name)

    def _login_mask(self) -> str:
        """The eventmask to ask for: every class when unfiltered or a ``*`` handler exists."""
        if self._events is not None:
            return self._events
        if not self.event_filter or "*" in self._handlers:
            return "on"
        return ev.event_mask(self._wanted.values())

    async def _restrict(self) -> None:
        """After login: add the include Filter for the wanted events (refused: log once, go
        on unfiltered, which costs CPU but loses nothing)."""
        self._filtered = None
        names = sorted(self._wanted.values())
        if not self.event_filter or "*" in self._handlers or not ev.filterable(names):
            return
        action = {"Action": "Filter", "Operation": "Add", "Filter": ev.filter_pattern(names)}
        try:
            await self._send(action)
        except AmiActionError as exc:
            self._refused(exc)
            return
        self._filtered = set(names)

    def _refused(self, exc: AmiActionError) -> None:
        """Log the first refused Filter (permission: ``write = system``) of this client."""
        if not self._filter_refused:
            self._filter_refused = True
            log.warning(
                "AMI: Filter refused by %s:%s (%s): receiving every event of the eventmask; "
                "grant the AMI user write = system or an eventfilter in manager.conf",
                self.host,
                self.port,
                exc.response.get("Message", ""),
            )

    def _widen(self, name: str) -> None:
        """Let a newly handled event through on the live session, before any later action
        (the actions are written in order and Asterisk runs them in order)."""
        mask = self._login_mask()
        if mask != self._mask:
            self._mask = mask
            self._background({"Action": "Events", "EventMask": mask})
        if self._filtered is None or name in self._filtered:
            return
        if name == "*" or not ev.filterable([name]):
            log.warning("AMI: a %r handler sees only filtered events until the next login", name)
            return
        self._filtered.add(name)
        self._background(
            {"Action": "Filter", "Operation": "Add", "Filter": ev.filter_pattern([name])}
        )

    def _background(self, action: Mapping[str, proto.ActionValue]) -> None:
        """Write an action now and check its reply in a tracked task."""
        try:
            action_id, pending = self._submit(action)
        except AmiConnectionError:
            return  # the next login asks for everything wanted
        task = asyncio.create_task(self._reply_of(action_id, pending, None, True))
        self._handler_tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[object]) -> None:
        self._handler_tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, AmiActionError):
            self._refused(exc)
        elif exc is not None:
            log.warning("AMI: narrowing the events failed: %s", exc)

    # -- replies and events ------------------------------------------------------------------
    async def _send(
        self,
        action: Mapping[str, proto.ActionValue],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        check: bool = True,
        is_list: bool = False,
        final_event: str | None = None,
    ) -> list[Message]:
        """Write an action and wait for everything that belongs to its reply."""
        action_id, pending = self._submit(action, is_list, final_event)
        return await self._reply_of(action_id, pending, timeout, check)

    def _submit(
        self,
        action: Mapping[str, proto.ActionValue],
        is_list: bool = False,
        final_event: str | None = None,
    ) -> tuple[str, _Pending]:
        """Write an action now; returns its ActionID and what collects its reply."""
        if self._writer is None or self._writer.is_closing():
            raise AmiConnectionError(f"AMI not connected ({self._state})")
        action_id = f"{self._prefix}-{next(self._ids)}"
        name = str(action.get("Action", ""))
        pending = _Pending(name, asyncio.get_running_loop().create_future(), is_list, final_event)
        self._pending[action_id] = pending
        self._writer.write(encode_action({**action, "ActionID": action_id}))
        return action_id, pending

    async def _reply_of(
        self,
        action_id: str,
        pending: _Pending,
        timeout: float | None,  # noqa: ASYNC109
        check: bool,
    ) -> list[Message]:
        """Wait for the reply of a written action."""
        try:
            async with asyncio.timeout(timeout or self.action_timeout):
                messages = await pending.future
        except TimeoutError:
            raise AmiConnectionError(f"AMI {pending.name}: no reply in time") from None
        finally:
            self._pending.pop(action_id, None)
        if check and not messages[0].success:
            raise AmiActionError(pending.name, messages[0])
        return messages

    def _route(self, message: Message) -> None:
        """Hand a message to its pending action, and events to the handlers (list items and
        the replies of plain actions are not events for handlers)."""
        pending = self._pending.get(message.get("ActionID", ""))
        event = str(message.get("Event", ""))
        if pending is not None and not pending.future.done():
            pending.messages.append(message)
            if _completes(pending, message, event):
                pending.future.set_result(pending.messages)
            if pending.is_list and event != pending.final_event:
                return
        if event:
            self.event_counts[event] += 1
            self._dispatch(event, message)

    def _dispatch(self, event: str, message: Message) -> None:
        """Run the handlers for ``event`` as tracked tasks."""
        for handler in self._handlers.get(event.lower(), []) + self._handlers.get("*", []):
            task = asyncio.create_task(self._guard(handler, message))
            self._handler_tasks.add(task)
            task.add_done_callback(self._handler_tasks.discard)

    async def _guard(self, handler: EventHandler, message: Message) -> None:
        try:
            await handler(message)
        except Exception:
            log.exception("AMI event handler failed on %s", message.get("Event"))

    # -- connection --------------------------------------------------------------------------
    def _set_state(self, state: AmiState, error: str | None = None) -> None:
        if state is not self._state:
            self._state, self._since = state, time.time()
        if error is not None:
            self._last_error = error

    async def _open(self) -> None:
        """Connect, read the banner, start reading, log in. Raises on any failure."""
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            where = f"{self.host}:{self.port}"
            raise AmiConnectionError(f"cannot connect to AMI {where}: {exc}") from exc
        try:
            self.version = await proto.read_banner(reader)
        except BaseException:
            writer.transport.abort()
            raise
        self._writer = writer
        self._reader_task = asyncio.create_task(self._read_loop(reader), name="ami-reader")
        self._mask = self._login_mask()
        login = {
            "Action": "Login",
            "Username": self.user,
            "Secret": self._secret,
            "Events": self._mask,
        }
        try:
            await self._send(login, check=True)
        except AmiActionError as exc:
            await self._drop("login refused")
            self._set_state(AmiState.AUTH_FAILED, str(exc.response.get("Message", "")))
            log.error(
                "AMI: login as %r refused by %s:%s (%s)",
                self.user,
                self.host,
                self.port,
                exc.response.get("Message", ""),
            )
            raise AmiAuthError(
                f"AMI login as {self.user!r} refused: {exc.response.get('Message', '')}"
            ) from None
        except BaseException:
            await self._drop("login failed")
            raise
        try:
            await self._restrict()
        except BaseException:
            await self._drop("event filter failed")
            raise
        self._connects += 1
        self._failed = 0
        self._set_state(AmiState.CONNECTED)
        self._connected.set()
        log.info("AMI: logged in to %s:%s (protocol %s)", self.host, self.port, self.version)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        """Read messages until the stream ends."""
        try:
            while (message := await proto.read_message(reader)) is not None:
                self._route(message)
        except (OSError, AmiConnectionError) as exc:
            log.warning("AMI: read failed: %s", exc)

    async def _drop(self, why: str) -> None:
        """Close the socket, stop reading, fail every pending action."""
        self._connected.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.transport.abort()
        task, self._reader_task = self._reader_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(AmiConnectionError(f"AMI connection {why}"))

    async def _supervise(self) -> None:
        """Keep the connection up: ping it, and reconnect with backoff when it drops."""
        while True:
            await self._watch()
            self._set_state(AmiState.RECONNECTING, self._last_error or "connection lost")
            await self._drop("lost")
            log.warning("AMI: connection to %s:%s lost; reconnecting", self.host, self.port)
            attempt = 0
            while not self._connected.is_set():
                await asyncio.sleep(self.backoff.delay(attempt))
                attempt += 1
                try:
                    await self._open()
                except (AmiConnectionError, AmiAuthError, TimeoutError) as exc:
                    self._failed += 1
                    if not isinstance(exc, AmiAuthError):
                        self._set_state(AmiState.RECONNECTING, str(exc))

    async def _watch(self) -> None:
        """Return when the reader ends or a keep-alive Ping gets no answer."""
        reader = self._reader_task
        assert reader is not None
        while not reader.done():
            done, _ = await asyncio.wait([reader], timeout=self.ping_interval)
            if done or self.ping_interval is None:
                break
            try:
                await self._send({"Action": "Ping"})
            except (AmiConnectionError, AmiActionError) as exc:
                self._last_error = f"keep-alive failed: {exc}"
                break
