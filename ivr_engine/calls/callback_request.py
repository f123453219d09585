"""Leaving a callback request from a live call: the one path an IVR menu item and a queue's
callback key share.

``leave_callback_request`` registers the request for the caller's number through the
engine's ``CallbackRepo`` and notes it in the call's trace. What the caller hears is the
caller's business: a menu confirms (or says "cannot be reached"), a queue says goodbye (or
keeps the caller waiting, or leaves for its overflow when the database failed).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ivr_engine.domain.numbers import mask
from ivr_engine.errors import ValidationError

if TYPE_CHECKING:
    from ivr_engine.calls.session import CallSession

log = logging.getLogger(__name__)


class CallbackNotPossible(Exception):
    """No callback request can be left for this caller: its number is unknown (anonymous),
    the call has no tenant, or this engine keeps no callback requests. Not a database
    failure: those are ``errors.DatabaseError``."""


async def leave_callback_request(
    session: CallSession, *, source: str, tenant_id: str | None = None, queue: str | None = None
) -> int:
    """Register a callback request for the session's caller (``source``: ``menu`` or
    ``queue``); returns its id. CallbackNotPossible when the caller cannot be called back;
    DatabaseError when the request could not be stored."""
    caller = session.trace.caller
    tenant = tenant_id or session.trace.tenant_id
    callbacks = session.env.callbacks
    if callbacks is None:
        raise CallbackNotPossible("this engine keeps no callback requests")
    if not caller or tenant is None:
        raise CallbackNotPossible("the caller's number is unknown")
    try:
        request = await callbacks.register(
            tenant_id=tenant,
            number=session.number,
            caller=caller,
            source=source,
            queue=queue,
            at=session.now(),
        )
    except ValidationError as exc:  # anonymous or not a phone number
        raise CallbackNotPossible(str(exc)) from exc
    session.note(
        "callback",
        f"callback request {request} for {mask(caller)}",
        request=request,
        source=source,
    )
    log.info("call %s: callback request %d left (%s)", session.channel_id, request, source)
    return request
