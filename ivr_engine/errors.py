"""The project's error hierarchy: one root, API-facing subclasses with a status and a code."""

from __future__ import annotations


class IvrError(Exception):
    """Root of every error the engine raises on purpose."""

    status: int = 500
    code: str = "internal-error"


class ConfigError(IvrError):
    """Settings or a configuration file is invalid; the message says where and why."""

    status = 400
    code = "invalid-config"


class ValidationError(IvrError):
    """Input (a number, an interval, a prompt) failed validation."""

    status = 400
    code = "invalid-input"

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class NotFoundError(IvrError):
    """The requested object does not exist."""

    status = 404
    code = "not-found"


class ConflictError(IvrError):
    """The change conflicts with the current state (e.g. a refused target change)."""

    status = 409
    code = "conflict"


class DatabaseError(IvrError):
    """A database operation failed (the store's repositories raise it for driver errors,
    so callers outside ``store/`` never see asyncpg's own exceptions)."""

    status = 503
    code = "database-error"


class DatabaseUnavailable(DatabaseError):
    """PostgreSQL cannot be reached (refused, connection lost, timed out): worth a retry
    once it is back."""

    code = "database-unavailable"


class TargetChangeLocked(ConflictError):
    """Forward targets were changed less than 24 hours ago (and the change is not forced)."""

    code = "target-change-locked"


class NumberQuarantined(ConflictError):
    """A terminated number is still in its 90-day quarantine."""

    code = "number-quarantined"
