"""Password hashing with argon2id."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 8


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("langhouse-timing-equaliser")


def hash_password(password: str) -> str:
    """Hash a new password; refuse ones shorter than MIN_LENGTH."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown user) still spend the same time."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
