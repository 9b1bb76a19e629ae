"""Pure parts of judging: the answer schema per output definition, answer checks, JSON paths, variable
filling, the rendered trace tree, failure classification, the backoff and the judge trace id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.evaluation.judge_inputs import TargetValues, fill_variables, render_tree, select
from app.evaluation.judge_output import Judgment, answer_schema, judge_answer, output_spec
from app.evaluation.judge_prompt import render
from app.evaluation.judge_trace import judge_trace_id
from app.evaluation.judge_types import VariableMap, variable_maps
from app.evaluation.judging import backoff_s
from app.playground.judge_calls import _anthropic_answer, _openai_answer, classify
from app.storage.clickhouse.queries.views import ObservationView

CATEGORIES = {"dataType": "CATEGORICAL", "categories": ["good", "bad"], "shouldAllowMultipleMatches": True}


def test_numeric_schema_is_strict_and_names_the_bounds() -> None:
    schema = answer_schema(output_spec({"dataType": "NUMERIC", "minValue": 0, "maxValue": 5}))
    assert schema["required"] == ["reasoning", "score"] and schema["additionalProperties"] is False
    assert schema["properties"]["score"]["type"] == "number"
    assert "at least 0, at most 5" in schema["properties"]["score"]["description"]


def test_categorical_schema_is_an_enum_or_a_list_of_them() -> None:
    many = answer_schema(output_spec(CATEGORIES))["properties"]["score"]
    assert many["type"] == "array" and many["items"]["enum"] == ["good", "bad"]
    one = answer_schema(output_spec({**CATEGORIES, "shouldAllowMultipleMatches": False}))["properties"][
        "score"
    ]
    assert one["enum"] == ["good", "bad"]


def test_a_legacy_definition_means_numeric_with_its_descriptions() -> None:
    spec = output_spec({"score": "0 to 1, 1 is best", "reasoning": "one sentence"})
    assert (spec.data_type, spec.score_instructions, spec.reasoning_instructions) == (
        "NUMERIC",
        "0 to 1, 1 is best",
        "one sentence",
    )


@pytest.mark.parametrize(
    ("definition", "answer", "expected"),
    [
        ({"dataType": "NUMERIC", "minValue": 0, "maxValue": 1}, {"reasoning": "r", "score": 0.5}, (0.5,)),
        ({"dataType": "BOOLEAN"}, {"reasoning": "r", "score": False}, (0.0,)),
        (CATEGORIES, {"reasoning": "r", "score": ["bad", "good", "bad"]}, ("bad", "good")),
        ({**CATEGORIES, "shouldAllowMultipleMatches": False}, {"reasoning": "r", "score": "good"}, ("good",)),
    ],
)
def test_valid_answers_give_the_values_to_write(definition: dict, answer: dict, expected: tuple) -> None:
    checked = judge_answer(output_spec(definition), answer)
    assert isinstance(checked, Judgment) and checked.values == expected


@pytest.mark.parametrize(
    ("definition", "answer", "why"),
    [
        ({"dataType": "NUMERIC", "maxValue": 1}, {"reasoning": "r", "score": 2}, "above the maximum"),
        ({"dataType": "NUMERIC", "minValue": 0}, {"reasoning": "r", "score": -1}, "below the minimum"),
        ({"dataType": "NUMERIC"}, {"reasoning": "r", "score": "high"}, "must be a number"),
        ({"dataType": "NUMERIC"}, {"reasoning": "r", "score": True}, "must be a number"),
        ({"dataType": "BOOLEAN"}, {"reasoning": "r", "score": 1}, "true or false"),
        (CATEGORIES, {"reasoning": "r", "score": ["ugly"]}, "some of"),
        (CATEGORIES, {"reasoning": "r", "score": []}, "some of"),
        ({"dataType": "NUMERIC"}, {"score": 1}, "no reasoning"),
        ({"dataType": "NUMERIC"}, None, "not a JSON object"),
    ],
)
def test_answers_that_break_the_definition_say_why(definition: dict, answer: dict | None, why: str) -> None:
    checked = judge_answer(output_spec(definition), answer)
    assert isinstance(checked, str) and why in checked


def test_json_paths_select_inside_values_and_json_text() -> None:
    value = {"messages": [{"content": "hi"}, {"content": "there"}], "k": '{"inner": 3}'}
    assert select(value, "$.messages[1].content") == "there"
    assert select(value, "$['messages'][0].content") == "hi"
    assert select(value, "$.k.inner") == 3
    assert select(value, "$.missing.x") is None and select(value, None) is value
    assert select(value, "$.messages[-1].content") == "there" and select(value, '$["k"]') == {"inner": 3}
    assert select(value, "messages[0].content") == "hi"  # without `$`
    # Wildcards and any depth give the matches, as a list when there are several.
    assert select(value, "$.messages[*].content") == ["hi", "there"]
    assert select(value, "$.messages.*.content") == ["hi", "there"]
    assert select(value, "$..content") == ["hi", "there"]
    assert select(value, "$..inner") == 3  # through the JSON text; one match is the value itself
    assert select(value, "$.messages[*].missing") is None and select(value, "$.messages[5]") is None


def test_variables_come_from_mappings_then_sources_then_the_rendered_target() -> None:
    values = TargetValues(input={"q": "2+2"}, output="4", expected_output="4", rendered="tree")
    mapping = [VariableMap("question", "input", "$.q")]
    filled = fill_variables(values, mapping, ["question", "output", "expected_output", "trace", "other"])
    assert filled == {"question": "2+2", "output": "4", "expected_output": "4", "trace": "tree", "other": ""}
    assert variable_maps([{"variable": "a", "source": "output", "jsonPath": "$.x"}, {"source": "bogus"}]) == [
        VariableMap("a", "output", "$.x")
    ]


def test_the_prompt_is_rendered_with_the_variables() -> None:
    prompt = [
        {"role": "system", "content": "Judge."},
        {"role": "user", "content": "Q: {{ input }} A: {{output}}"},
    ]
    assert render(prompt, {"input": "2+2", "output": "4"})[1] == {"role": "user", "content": "Q: 2+2 A: 4"}
    assert render("just {{x}}", {"x": "text"}) == [{"role": "user", "content": "just text"}]


def _obs(obs_id: str, parent: str | None, start: datetime, **fields: object) -> ObservationView:
    base: dict = dict(
        id=obs_id,
        trace_id="t",
        parent_observation_id=parent,
        type="SPAN",
        name=obs_id,
        start_time=start,
        end_time=None,
        completion_start_time=None,
        level="DEFAULT",
        status_message=None,
        version=None,
        environment="default",
        release=None,
        trace_name=None,
        user_id=None,
        session_id=None,
        tags=[],
        model=None,
        internal_model_id=None,
        model_parameters=None,
        usage_details={},
        cost_details={},
        total_cost=Decimal(0),
        prompt_name=None,
        prompt_version=None,
        latency_ms=None,
    )
    return ObservationView(**{**base, **fields})  # type: ignore[arg-type]


def test_the_tree_is_indented_trimmed_and_shows_errors() -> None:
    now = datetime.now(UTC)
    tree = render_tree(
        [
            _obs("root", None, now, input='"go"'),
            _obs("child", "root", now + timedelta(seconds=1), type="TOOL", output="x" * 1000),
            _obs("failed", "root", now + timedelta(seconds=2), level="ERROR", status_message="boom"),
        ]
    )
    lines = tree.splitlines()
    assert lines[0] == "- SPAN root | input: go | output: "
    assert (
        lines[1].startswith("  - TOOL child | input:  | output: xxx") and "[cut, 1000 characters]" in lines[1]
    )
    assert lines[2].startswith("  - SPAN failed [ERROR: boom]")


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (429, "slow down", "retryable"),
        (500, "oops", "retryable"),
        (529, "overloaded", "retryable"),
        (401, "bad key", "auth"),
        (403, "forbidden", "auth"),
        (404, "not found", "model"),
        (400, "The model `x` does not exist", "model"),
        (400, "max_tokens too large", "other"),
    ],
)
def test_failures_are_classified(status: int, message: str, kind: str) -> None:
    assert classify(status, message) == kind


def test_answers_are_read_from_content_tool_calls_and_tool_use() -> None:
    content = _openai_answer(
        {"choices": [{"message": {"content": '{"reasoning":"r","score":1}'}}]}, "json_schema"
    )
    assert content.parsed == {"reasoning": "r", "score": 1} and content.usage is None
    call = {"function": {"name": "score", "arguments": '{"reasoning":"r","score":2}'}}
    tools = _openai_answer(
        {"choices": [{"message": {"tool_calls": [call]}}], "usage": {"prompt_tokens": 3}}, "tools"
    )
    assert (
        tools.parsed == {"reasoning": "r", "score": 2} and tools.usage is not None and tools.usage.input == 3
    )
    used = _anthropic_answer({"content": [{"type": "tool_use", "input": {"reasoning": "r", "score": True}}]})
    assert used.parsed == {"reasoning": "r", "score": True}
    text = _anthropic_answer({"content": [{"type": "text", "text": "no json"}]})
    assert text.parsed is None and text.raw == "no json"


def test_backoff_doubles_with_jitter_and_the_trace_id_is_stable() -> None:
    for attempt, middle in ((1, 10.0), (2, 20.0), (3, 40.0)):
        assert all(middle * 0.8 <= backoff_s(10.0, attempt) <= middle * 1.2 for _ in range(50))
    assert judge_trace_id("exec-1") == judge_trace_id("exec-1") != judge_trace_id("exec-2")
    assert len(judge_trace_id("exec-1")) == 32
