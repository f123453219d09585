"""The admin API's typed errors and the middleware that turns every failure into
``{"error": {"code": ..., "message": ..., "field": ...}}`` with a stable snake_case code.

Codes: ``unauthenticated`` 401, ``forbidden`` 403, ``not_found`` 404, ``conflict`` /
``version_mismatch`` / ``target_change_locked`` 409, ``precondition_required`` 428,
``invalid_input`` / ``invalid_config`` 400, ``locked_out`` 423, ``database_unavailable`` 503,
``internal_error`` 500 (logged with the request id, details never sent).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ivr_engine.errors import (
    ConfigError,
    ConflictError,
    DatabaseError,
    IvrError,
    NotFoundError,
    ValidationError,
)
from ivr_engine.logs import mask_phone_text

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answer: HTTP status, stable code, message, and the field at fault."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        error.update(self.extra)
        return {"error": error}


def unauthenticated(message: str = "sign in or send a bearer token") -> ApiError:
    """401."""
    return ApiError(401, "unauthenticated", message)


def forbidden(message: str = "your role does not allow this") -> ApiError:
    """403: inside one's own tenant, not allowed."""
    return ApiError(403, "forbidden", message)


def not_found(what: str) -> ApiError:
    """404: absent, or another tenant's (existence never leaks)."""
    return ApiError(404, "not_found", f"{what} not found")


def bad_input(message: str, field: str | None = None) -> ApiError:
    """400 for malformed parameters or bodies."""
    return ApiError(400, "invalid_input", message, field)


def _code_of(exc: IvrError) -> str:
    return exc.code.replace("-", "_")


def _field_of(exc: IvrError) -> str | None:
    path = getattr(exc, "path", "") or ""
    if path:
        return str(path)
    return None


def from_ivr_error(exc: IvrError) -> ApiError:
    """The API answer for one of the engine's own errors."""
    status = exc.status
    if isinstance(exc, ValidationError | ConfigError):
        status = 400
    elif isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, ConflictError):
        status = 409
    elif isinstance(exc, DatabaseError):
        status = 503
    return ApiError(status, _code_of(exc), str(exc), _field_of(exc))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure of an API handler as a typed JSON error."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except IvrError as exc:
        err = from_ivr_error(exc)
        if err.status >= 500:
            log.warning("%s %s: %s", request.method, request.path, mask_phone_text(str(exc)))
        return web.json_response(err.body(), status=err.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        err = ApiError(exc.status, code, exc.reason or "error")
        return web.json_response(err.body(), status=exc.status)
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("%s %s failed (reference %s)", request.method, request.path, ref)
        err = ApiError(500, "internal_error", f"internal error (reference {ref})")
        return web.json_response(err.body(), status=500)
