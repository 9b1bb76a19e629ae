"""Stored JSON text (input, output, metadata): nesting bounded on the way in, decoded safely on the way out.

Python's JSON decoder (and every recursive walk after it) fails with RecursionError on deep nesting, so
values nested deeper than MAX_DEPTH are stored with the over-deep parts as their JSON text (a string),
and readers treat text that still nests deeper (stored before the bound existed) as plain text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

MAX_DEPTH = 100
"""Deepest nesting of objects and arrays stored as structure; deeper values are kept as JSON text."""

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_TOKENS = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_STRINGS = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests objects/arrays deeper than `limit` (brackets inside strings do not count).

    Text with at most `limit` opening brackets is not scanned; otherwise the brackets alone are peeled
    innermost pair by innermost pair, at most `limit` times, each pass a regular-expression substitution.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(limit):
        brackets, peeled = _INNERMOST.subn("", brackets)
        if not brackets:
            return False
        if not peeled:  # unbalanced: a decoder may descend as deep as there are opening brackets
            return brackets.count("[") + brackets.count("{") > limit
    return True


def bound_depth(text: str, limit: int = MAX_DEPTH) -> str:
    """The JSON text with every value nested deeper than `limit` replaced by its own JSON text (a string).

    Text that nests no deeper, or that is not JSON, comes back unchanged.
    """
    if not too_deep(text, limit):
        return text
    parts: list[str] = []
    depth, start, last = 0, 0, 0
    for match in _TOKENS.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth == limit + 1:
                start = match.start()
        elif char in "]}":
            depth -= 1
            if depth == limit:
                parts += [text[last:start], json.dumps(text[start : match.end()], ensure_ascii=False)]
                last = match.end()
    parts.append(text[last:])
    bounded = "".join(parts)
    try:
        orjson.loads(bounded)
    except orjson.JSONDecodeError:
        return text
    return bounded


def loads(text: str) -> Any:
    """Decode JSON text; ValueError when it is not JSON or nests deeper than MAX_DEPTH."""
    if too_deep(text):
        raise ValueError(f"JSON nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except RecursionError as exc:  # cannot happen within MAX_DEPTH; kept so no reader ever raises it
        raise ValueError("JSON nests too deeply") from exc
