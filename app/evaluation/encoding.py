"""Opaque cursors and stored JSON text as the experiment reads give them out; pure."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from app.errors import InvalidInput
from app.storage import json_text


def encode_cursor(value: int, key: str) -> str:
    raw = json.dumps(["v1", value, key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, str]:
    try:
        padded = text + "=" * (-len(text) % 4)
        version, value, key = json_text.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput("cursor: not a cursor returned by this API") from exc
    if version != "v1" or not isinstance(value, int) or isinstance(value, bool) or not isinstance(key, str):
        raise InvalidInput("cursor: not a cursor returned by this API")
    return value, key


def json_object(text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json_text.loads(str(text))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def json_value(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json_text.loads(str(text))
    except ValueError:
        return str(text)
