"""Passwords and secrets: argon2id hashes, random session ids and tokens.

h = hash_password("correct horse")
verify_password(h, "correct horse")    # True
new_token()                             # "ivrt_..." (shown once, stored as SHA-256)
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ivr_engine.errors import ValidationError

TOKEN_PREFIX = "ivrt_"
MIN_PASSWORD = 10

_hasher = PasswordHasher()  # argon2id, the library's recommended parameters
# A hash to verify against when the account does not exist, so the answer takes as long.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def check_password_strength(password: str) -> None:
    """ValidationError for a password too weak to accept."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"at least {MIN_PASSWORD} characters", "password")
    if len(set(password)) < 4:
        raise ValidationError("too few distinct characters", "password")


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account; same cost)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_session_secret() -> str:
    """A login session's cookie value."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    """A session's CSRF token (sent back in forms and the X-CSRF-Token header)."""
    return secrets.token_urlsafe(24)


def new_token() -> str:
    """A machine token: recognisable prefix, 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_password() -> str:
    """A first password for a bootstrap account."""
    return secrets.token_urlsafe(12)
