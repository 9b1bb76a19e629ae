"""Blob keys: the safe relative paths every blob store accepts (local directory and S3 alike)."""

from __future__ import annotations

import re

from app.errors import InvalidInput

MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9._=-]+")


def is_valid_key(key: str) -> bool:
    """Whether key is a safe relative blob path."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return False
    return all(_SEGMENT.fullmatch(seg) and seg not in (".", "..") for seg in key.split("/"))


def validate_key(key: str) -> str:
    """Return key unchanged if it is a safe relative blob path; raise InvalidInput otherwise."""
    if not is_valid_key(key):
        raise InvalidInput(
            f"invalid blob key {key!r}: expected '/'-separated segments of [A-Za-z0-9._=-], "
            f"no empty, '.' or '..' segment, at most {MAX_KEY_LENGTH} characters"
        )
    return key


def validate_prefix(prefix: str) -> str:
    """Return prefix unchanged if it is empty, a valid key, or a valid key followed by '/'."""
    if prefix:
        validate_key(prefix.removesuffix("/"))
    return prefix


def validate_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInput(f"invalid blob list limit {limit!r}: must be at least 1")
