"""Deep JSON: measured without recursion, stored with the over-deep part as text, never fatal to a reader."""

from __future__ import annotations

import json

import pytest

from app.storage.json_text import MAX_DEPTH, bound_depth, loads, too_deep

DEEP = "[" * 10_000 + "]" * 10_000


def test_depth_is_measured_outside_strings() -> None:
    assert not too_deep("[[1]]") and not too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert too_deep("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) and too_deep(DEEP)
    assert not too_deep(json.dumps(["[" * 500]))  # brackets inside a string
    assert too_deep("[" * 10_000)  # unbalanced: as deep as a decoder would go


def test_over_deep_values_are_kept_as_their_json_text() -> None:
    bounded = bound_depth(json.dumps({"a": 1, "deep": json.loads("[" * 500 + "]" * 500)}))
    value = loads(bounded)
    assert value["a"] == 1
    inner, depth = value["deep"], 2
    while isinstance(inner, list):
        inner, depth = inner[0], depth + 1
    assert depth == MAX_DEPTH + 1 and isinstance(inner, str)
    assert inner == "[" * (500 - MAX_DEPTH + 1) + "]" * (500 - MAX_DEPTH + 1)
    assert bound_depth("not json " + DEEP) == "not json " + DEEP
    assert bound_depth('{"ok": [1]}') == '{"ok": [1]}'


def test_readers_get_a_value_error_not_a_recursion_error() -> None:
    with pytest.raises(ValueError, match="nests deeper"):
        loads(DEEP)
    assert loads('{"x": [1, 2]}') == {"x": [1, 2]}


def test_every_reader_of_stored_text_survives_deep_nesting() -> None:
    from app.dashboards.display import pretty
    from app.storage.clickhouse.queries.views import json_or_text, metadata
    from app.tracing.chat import chat_messages

    assert json_or_text(DEEP) == DEEP and metadata(["m"], [DEEP]) == {"m": DEEP}
    assert pretty(DEEP) == DEEP and chat_messages(DEEP) is None
