"""Typed ARI errors: one class per HTTP status family, so callers catch what they mean.

Asterisk answers every failed request with ``{"message": "..."}`` (sometimes HTML, e.g. the
400 for a missing ``app``); the message is kept as Asterisk wrote it.
"""

from __future__ import annotations

from ivr_engine.errors import IvrError


class AriError(IvrError):
    """A failed ARI request: the HTTP status, Asterisk's message, and which request it was."""

    code = "ari-error"

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        super().__init__(f"ARI {method} {path} -> {status}: {message}".strip())


class AriBadRequest(AriError):
    """400: bad or missing parameters (also "Channel not found" on addChannel/removeChannel)."""

    code = "ari-bad-request"


class AriAuthError(AriError):
    """401/403: wrong credentials, a read-only user, or an ACL reject."""

    code = "ari-auth"


class AriNotFound(AriError):
    """404: the channel, bridge, playback, variable or application does not exist (any more)."""

    code = "ari-not-found"


class AriConflict(AriError):
    """409: the object exists but not in Stasis, a dial on a non-Down channel, or a name clash."""

    code = "ari-conflict"


class AriInvalidState(AriError):
    """412: the channel is Down, Rsrvd or Ringing (an outbound leg not yet answered)."""

    code = "ari-invalid-state"


class AriUnprocessable(AriError):
    """422: addChannel of a channel not in Stasis, removeChannel not in the bridge, bad format."""

    code = "ari-unprocessable"


class AriServerError(AriError):
    """5xx: Asterisk failed (unknown endpoint on /create, not fully booted, ...)."""

    code = "ari-server-error"


class AriConnectionError(AriError):
    """The request never got an HTTP answer: connection refused or reset, or a timeout."""

    code = "ari-connection"

    def __init__(self, message: str, method: str = "", path: str = "") -> None:
        super().__init__(0, message, method, path)


_BY_STATUS: dict[int, type[AriError]] = {
    400: AriBadRequest,
    401: AriAuthError,
    403: AriAuthError,
    404: AriNotFound,
    409: AriConflict,
    412: AriInvalidState,
    422: AriUnprocessable,
}


def error_for_status(status: int, message: str, method: str = "", path: str = "") -> AriError:
    """The typed exception for an HTTP error status (5xx -> AriServerError, others AriError)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = AriServerError if status >= 500 else AriError
    return cls(status, message, method, path)
