"""Checks of an evaluator's definition (prompt, judge model, variable mapping, output definition, code)
and their stored form; pure. Errors name the field as clients send it (`outputDefinition.minValue`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from app.errors import InvalidInput

EvaluatorType = Literal["llm_as_judge", "code"]
EVALUATOR_TYPES: tuple[str, ...] = get_args(EvaluatorType)
OutputType = Literal["NUMERIC", "BOOLEAN", "CATEGORICAL"]
OUTPUT_TYPES: tuple[str, ...] = get_args(OutputType)
ROLES = ("system", "user", "assistant")
MAPPING_SOURCES = ("input", "output", "metadata", "tool_calls", "expected_output", "experiment_item_metadata")
CODE_LANGUAGES = ("PYTHON",)
MAX_MESSAGES, MAX_CONTENT_CHARS, MAX_TEXT_CHARS = 50, 100_000, 10_000
MAX_CATEGORIES, MAX_NAME_CHARS, MAX_CODE_CHARS = 100, 200, 100_000
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class EvaluatorDefinition:
    """A definition as sent: values not yet checked (the type decides which fields matter)."""

    type: str
    prompt: object = None  # a user prompt string or [{role, content}]
    model_config: object = None  # {provider (a connection's name), model, modelParams?} or None
    variable_mapping: object = None  # [{variable, source, jsonPath?}] or None
    output_definition: object = None  # {dataType, minValue?, maxValue?, categories?, ...}
    source_code: object = None
    source_code_language: object = None


@dataclass(frozen=True, slots=True)
class ValidDefinition:
    """A checked definition in its stored form."""

    type: str
    prompt: list[dict[str, str]] | None
    variables: list[str]
    judge_model: dict[str, Any] | None
    variable_mapping: list[dict[str, Any]] | None
    output_definition: dict[str, Any] | None
    source_code: str | None
    source_code_language: str | None


def prompt_variables(messages: list[dict[str, str]]) -> list[str]:
    """The `{{variable}}` names of a prompt, first appearance first, each once."""
    found: dict[str, None] = {}
    for m in messages:
        for name in VARIABLE.findall(m["content"]):
            found.setdefault(name, None)
    return list(found)


def _text(value: object, field: str, limit: int = MAX_TEXT_CHARS, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidInput(f"{field}: required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{field}: must be a non-empty string")
    if len(value) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters")
    return value


def check_prompt(value: object) -> list[dict[str, str]]:
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InvalidInput("prompt: a non-empty string or a non-empty list of {role, content} messages")
    if len(value) > MAX_MESSAGES:
        raise InvalidInput(f"prompt: at most {MAX_MESSAGES} messages")
    messages = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise InvalidInput(f"prompt[{i}]: must be an object with role and content")
        if m.get("role") not in ROLES:
            raise InvalidInput(f"prompt[{i}].role: one of {', '.join(ROLES)}")
        content = _text(m.get("content"), f"prompt[{i}].content", MAX_CONTENT_CHARS, required=True)
        assert content is not None
        messages.append({"role": str(m["role"]), "content": content})
    return messages


def check_model(value: object) -> dict[str, Any] | None:
    """`{provider, model, modelParams?}` or None (the project's default judge model)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("modelConfig: an object {provider, model} or null")
    provider = _text(value.get("provider"), "modelConfig.provider", MAX_NAME_CHARS, required=True)
    model = _text(value.get("model"), "modelConfig.model", MAX_NAME_CHARS, required=True)
    params = value.get("modelParams")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("modelConfig.modelParams: an object (temperature, max_tokens, …)")
    for key in ("temperature", "max_tokens", "top_p"):
        v = (params or {}).get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)):
            raise InvalidInput(f"modelConfig.modelParams.{key}: must be a number")
    judge: dict[str, Any] = {"provider": provider, "model": model}
    if params:
        judge["modelParams"] = params
    return judge


def check_mapping(value: object, variables: list[str]) -> list[dict[str, Any]] | None:
    """Each variable mapped once to a known source, with an optional JSON path starting with `$`."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput("variableMapping: a list of {variable, source, jsonPath?} or null")
    seen: set[str] = set()
    mapping = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise InvalidInput(f"variableMapping[{i}]: must be an object")
        variable = m.get("variable")
        if not isinstance(variable, str) or variable not in variables:
            raise InvalidInput(
                f"variableMapping[{i}].variable: not a variable of the prompt ({', '.join(variables)})"
            )
        if variable in seen:
            raise InvalidInput(f"variableMapping[{i}].variable: {variable!r} is mapped twice")
        seen.add(variable)
        if m.get("source") not in MAPPING_SOURCES:
            raise InvalidInput(f"variableMapping[{i}].source: one of {', '.join(MAPPING_SOURCES)}")
        path = _text(m.get("jsonPath"), f"variableMapping[{i}].jsonPath", 500)
        if path is not None and not path.startswith("$"):
            raise InvalidInput(f"variableMapping[{i}].jsonPath: must start with $ (e.g. $.answer)")
        mapping.append({"variable": variable, "source": m["source"], "jsonPath": path})
    return mapping


def _bound(value: dict[str, Any], key: str) -> float | None:
    v = value.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InvalidInput(f"outputDefinition.{key}: must be a finite number")
    return float(v)


def check_output(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("outputDefinition: required, an object with dataType")
    kind = value.get("dataType")
    if kind not in OUTPUT_TYPES:
        raise InvalidInput(f"outputDefinition.dataType: one of {', '.join(OUTPUT_TYPES)}")
    out: dict[str, Any] = {"dataType": kind}
    for key in ("scoreReasoningInstructions", "scoreValueInstructions"):
        text = _text(value.get(key), f"outputDefinition.{key}")
        if text is not None:
            out[key] = text
    if kind == "NUMERIC":
        low, high = _bound(value, "minValue"), _bound(value, "maxValue")
        if low is not None and high is not None and low > high:
            raise InvalidInput("outputDefinition.minValue: must not exceed maxValue")
        out |= {"minValue": low, "maxValue": high}
    elif kind == "CATEGORICAL":
        cats = value.get("categories")
        if not isinstance(cats, list) or not cats or len(cats) > MAX_CATEGORIES:
            raise InvalidInput(f"outputDefinition.categories: 1 to {MAX_CATEGORIES} category names")
        if any(not isinstance(c, str) or not c.strip() or len(c) > MAX_NAME_CHARS for c in cats):
            raise InvalidInput("outputDefinition.categories: each a non-empty name")
        names = [c.strip() for c in cats]
        if len(set(names)) != len(names):
            raise InvalidInput("outputDefinition.categories: names must be distinct")
        multiple = value.get("shouldAllowMultipleMatches", False)
        if not isinstance(multiple, bool):
            raise InvalidInput("outputDefinition.shouldAllowMultipleMatches: true or false")
        out |= {"categories": names, "shouldAllowMultipleMatches": multiple}
    return out


def check_definition(d: EvaluatorDefinition) -> ValidDefinition:
    """The definition in its stored form; InvalidInput names the first field at fault."""
    if d.type == "code":
        code = _text(d.source_code, "sourceCode", MAX_CODE_CHARS, required=True)
        if d.source_code_language not in CODE_LANGUAGES:
            raise InvalidInput(f"sourceCodeLanguage: one of {', '.join(CODE_LANGUAGES)}")
        return ValidDefinition("code", None, [], None, None, None, code, str(d.source_code_language))
    if d.type != "llm_as_judge":
        raise InvalidInput(f"type: one of {', '.join(EVALUATOR_TYPES)}")
    prompt = check_prompt(d.prompt)
    variables = prompt_variables(prompt)
    return ValidDefinition(
        "llm_as_judge",
        prompt,
        variables,
        check_model(d.model_config),
        check_mapping(d.variable_mapping, variables),
        check_output(d.output_definition),
        None,
        None,
    )


def check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 255:
        raise InvalidInput("name: required, 1 to 255 characters")
    return value.strip()


def check_description(value: object) -> str | None:
    return _text(value, "description")
