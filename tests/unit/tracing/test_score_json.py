"""Langfuse score JSON decoded to NewScore, and the rules a score and a config spec obey."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.tracing.score_configs import Category, categories_from_json
from app.tracing.score_json import parse_score, score_json_problem
from app.tracing.scores import NewScore, data_type_of


def test_camel_case_fields_become_the_typed_score() -> None:
    score = parse_score(
        {"name": "q", "value": "good", "traceId": "t", "observationId": "o", "configId": "c", "metadata": 3}
    )
    assert score == NewScore(name="q", value="good", trace_id="t", observation_id="o", config_id="c")
    assert data_type_of(score) == "CATEGORICAL" and data_type_of(NewScore(name="n", value=1)) == "NUMERIC"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "score must be an object"),
        ({"name": 1, "value": 1, "traceId": "t"}, "name is required"),
        ({"name": "q", "value": 1, "traceId": "t", "comment": 5}, "comment must be a string"),
        ({"name": "q", "value": 1}, "one of traceId, sessionId, datasetRunId is required"),
        (
            {"name": "q", "value": 7, "traceId": "t", "dataType": "BOOLEAN"},
            "value must be 0 or 1 for dataType BOOLEAN",
        ),
        (
            {"name": "q", "value": 1, "traceId": "t", "source": 5},
            "source must be one of API, EVAL, ANNOTATION",
        ),
        ({"name": "q", "value": 1, "traceId": "t"}, None),
    ],
)
def test_problems_name_the_field(body: object, problem: str | None) -> None:
    assert score_json_problem(body) == problem


def test_categories_from_json() -> None:
    assert categories_from_json([{"value": 1, "label": "a"}]) == (Category(1.0, "a"),)
    assert categories_from_json("x") == ()
    with pytest.raises(InvalidInput, match=r"categories\[0\] must be"):
        categories_from_json([{"value": 1}])
    with pytest.raises(InvalidInput, match=r"categories\[0\].value must be a finite number"):
        categories_from_json([{"value": "x", "label": "a"}])
