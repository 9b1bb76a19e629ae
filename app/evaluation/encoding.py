"""Opaque cursors and stored JSON text as the experiment reads give them out; pure."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from app.errors import InvalidInput
from app.storage import json_text


def encode_cursor(value: int, key: str) -> str:
    """An opaque cursor (base64url JSON) for a page that ended at (sort value, row key)."""
    raw = json.dumps(["v1", value, key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_cursor(at: datetime, key: str) -> str:
    """The cursor of a page, newest first, that ended at the row (`at`, `key`); exact to the microsecond."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return encode_cursor((at - EPOCH) // timedelta(microseconds=1), key)


def time_keyset(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, key) a time_cursor names; None for no cursor; InvalidInput naming `cursor` otherwise."""
    if not cursor:
        return None
    micros, key = decode_cursor(cursor)
    return EPOCH + timedelta(microseconds=micros), key


def decode_cursor(text: str) -> tuple[int, str]:
    """The (sort value, row key) of a cursor from encode_cursor; InvalidInput naming `cursor` otherwise."""
    try:
        padded = text + "=" * (-len(text) % 4)
        version, value, key = json_text.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput("cursor: not a cursor returned by this API") from exc
    if version != "v1" or not isinstance(value, int) or isinstance(value, bool) or not isinstance(key, str):
        raise InvalidInput("cursor: not a cursor returned by this API")
    return value, key


def json_object(text: Any) -> dict[str, Any] | None:
    """Stored JSON text holding an object, decoded; None for anything else."""
    if not text:
        return None
    try:
        value = json_text.loads(str(text))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


_JSON_START = frozenset('{["-0123456789tfn')


def stored_value(text: Any) -> Any:
    """Stored input, output or expected output: the JSON it holds decoded, else the text itself.
    orjson first (results decode 10,000s of values); text nesting deeper than MAX_DEPTH stays text."""
    if text is None:
        return None
    text = str(text)
    if not text or text[0] not in _JSON_START:
        return text
    if text.count("[") + text.count("{") > json_text.MAX_DEPTH and json_text.too_deep(text):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json_text.loads(text)  # what orjson refuses but JSON-in-Python allows (NaN, big ints)
        except ValueError:
            return text
