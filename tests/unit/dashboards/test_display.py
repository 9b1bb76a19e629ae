"""List formatting: one-line previews of inputs/outputs, costs with their digits, levels, compact scores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.dashboards.display import PREVIEW_MAX, compact_scores, cost, preview, worst_level
from app.storage.clickhouse.queries.views import ScoreView

CHAT = json.dumps(
    [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": "Question number 4\n  about   refunds"},
    ]
)


@pytest.mark.parametrize(
    ("value", "role", "expected"),
    [
        (CHAT, "user", "Question number 4 about refunds"),  # the last user message, on one line
        (CHAT, "assistant", "First answer"),
        (json.dumps({"role": "assistant", "content": "answer 4"}), "assistant", "answer 4"),
        (json.dumps({"choices": [{"message": {"role": "assistant", "content": "Hi!"}}]}), "assistant", "Hi!"),
        (json.dumps({"role": "user", "content": [{"type": "text", "text": "Look"}]}), "user", "Look"),
        (  # a message with tool calls alone
            json.dumps([{"role": "assistant", "tool_calls": [{"name": "f", "arguments": "{}"}]}]),
            "assistant",
            "f({})",
        ),
        (json.dumps("Question number 4 about refunds"), "user", "Question number 4 about refunds"),
        (json.dumps({"question": "Why?", "top_k": 3}), "user", "Why?"),  # the one text field
        (json.dumps({"query": "refunds", "user": "u1"}), "user", "refunds"),  # a well-known text field
        (json.dumps({"input": {"question": "Nested?"}}), "user", "Nested?"),  # wrappers unwrapped
        (json.dumps(["only"]), "user", "only"),
        (json.dumps({"a": 1, "b": [1, 2], "c": None}), "user", "a: 1, b: [1, 2], c: null"),
        (json.dumps({"x": "1", "y": "2"}), "user", "x: 1, y: 2"),
        (json.dumps([1, "two", {"k": True}]), "user", '1, two, {"k": true}'),
        (json.dumps(42), "user", "42"),
        ("plain text, not JSON", "user", "plain text, not JSON"),
        ("", "user", ""),
        (None, "user", ""),
    ],
)
def test_previews_read_as_one_line(value: str | None, role: str, expected: str) -> None:
    assert preview(value, role) == expected


def test_long_previews_are_cut_with_an_ellipsis() -> None:
    text = preview(json.dumps("word " * 1000))
    assert len(text) == PREVIEW_MAX and text.endswith("…") and "\n" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.001"), "$0.001"),
        (Decimal("0.00012"), "$0.00012"),
        (Decimal("0.000123456"), "$0.00012"),
        (0.0015, "$0.0015"),
        (Decimal("0.5"), "$0.50"),
        (Decimal("0.123"), "$0.12"),
        (Decimal("0.0999"), "$0.10"),
        (Decimal("1.234"), "$1.23"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("0"), "$0.00"),
        (Decimal("-0.002"), "-$0.002"),
        (Decimal("1E-20"), "$0.00"),  # past twelve decimals
        (None, ""),
    ],
)
def test_costs_keep_their_significant_digits(value: Decimal | float | None, expected: str) -> None:
    assert cost(value) == expected


def test_the_worst_level_of_a_trace() -> None:
    assert worst_level({"DEFAULT": 3, "ERROR": 1, "WARNING": 2}) == "ERROR"
    assert worst_level({"DEFAULT": 3, "WARNING": 1}) == "WARNING"
    assert worst_level({"DEFAULT": 3, "ERROR": 0}) is None  # all of them deleted
    assert worst_level({}) is None


def _score(name: str, value: float | None, data_type: str = "NUMERIC", text: str | None = None) -> ScoreView:
    now = datetime.now(UTC)
    return ScoreView(
        *("s", now, name, value, text, data_type, "API", None, "t", None, None, None, None, None, None),
        environment="default",
        created_at=now,
        updated_at=now,
    )


def test_scores_in_a_few_words() -> None:
    scores = [_score("quality", 0.3), _score("quality", 0.6), _score("correct", 1, "BOOLEAN")]
    assert compact_scores(scores) == ["correct True", "quality 0.6"]  # the newest value per name
    many = [_score(f"s{i}", i) for i in range(6)] + [_score("tone", None, "CATEGORICAL", "polite")]
    assert compact_scores(many) == ["s0 0", "s1 1", "s2 2", "s3 3", "+3 more"]
    assert compact_scores([]) == []
