"""Reading span attribute values: the first of several keys that is set, JSON text decoded; pure."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from app.storage.json_text import too_deep
from app.tracing.span import Attributes

OBS_PREFIX = "langfuse.observation."
TRACE_PREFIX = "langfuse.trace."

# What JSON text can start with (json.loads also takes NaN and Infinity).
_MAYBE_JSON = re.compile(r"\s*[\[{\"0-9tfnNI-]")


def first_value(attrs: Attributes, *keys: str) -> Any:
    """The value of the first of `keys` that is set (neither None nor empty), else None."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def maybe_json(value: Any) -> Any:
    """A JSON string decoded, anything else as it is. orjson first (several times faster); the standard
    parser for what orjson refuses but JSON-in-Python allows (NaN, Infinity, integers past 64 bits).
    Text nested deeper than json_text.MAX_DEPTH stays text."""
    if isinstance(value, str):
        if not _MAYBE_JSON.match(value) or too_deep(value):  # plain text fails both parsers: skip them
            return value
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            try:
                return json.loads(value)
            except ValueError:
                return value
    return value
