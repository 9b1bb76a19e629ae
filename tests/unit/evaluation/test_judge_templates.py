"""The built-in judge templates are valid evaluator definitions; the definition checks are pure."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput, NotFound
from app.evaluation import judge_templates
from app.evaluation.evaluator_specs import check_definition, check_output, prompt_variables


@pytest.mark.parametrize("template", judge_templates.list_templates(), ids=lambda t: t.key)
def test_every_template_is_a_valid_definition(template: judge_templates.JudgeTemplate) -> None:
    valid = check_definition(template.definition())
    assert valid.variables == template.variables and valid.variables
    assert {m["variable"] for m in valid.variable_mapping or []} == set(valid.variables)
    assert template.target in ("observation", "trace", "session")


def test_the_library_covers_the_usual_judges() -> None:
    keys = {t.key for t in judge_templates.list_templates()}
    expected = {"hallucination", "helpfulness", "relevance", "toxicity", "correctness", "conciseness"}
    assert expected | {"context_relevance", "context_correctness", "user_frustration"} <= keys
    assert judge_templates.get_template("toxicity").output_definition["dataType"] == "BOOLEAN"
    with pytest.raises(NotFound):
        judge_templates.get_template("nope")


def test_variables_and_outputs() -> None:
    prompt = [{"role": "user", "content": "{{a}} {{ b }} {{a}} {{ not a var }} {b}"}]
    assert prompt_variables(prompt) == ["a", "b"]
    assert check_output({"dataType": "NUMERIC", "version": 2}) == {
        "dataType": "NUMERIC",
        "minValue": None,
        "maxValue": None,
    }
    for bad, field in (
        ({"dataType": "NUMERIC", "maxValue": float("nan")}, "maxValue"),
        (
            {"dataType": "CATEGORICAL", "categories": ["x"], "shouldAllowMultipleMatches": "yes"},
            "shouldAllow",
        ),
        ({"dataType": "BOOLEAN", "scoreValueInstructions": 3}, "scoreValueInstructions"),
        ([], "outputDefinition"),
    ):
        with pytest.raises(InvalidInput, match=field):
            check_output(bad)
