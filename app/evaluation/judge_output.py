"""A judge's output definition as the JSON schema it must answer in, and the check of an answer
against it: `{reasoning, score}` → the score values to write (one per category matched)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.tracing.numbers import is_finite_number


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """The stored output definition, read: NUMERIC (min/max), BOOLEAN or CATEGORICAL (categories, multi)."""

    data_type: str
    min_value: float | None = None
    max_value: float | None = None
    categories: tuple[str, ...] = ()
    multiple: bool = False
    reasoning_instructions: str | None = None
    score_instructions: str | None = None


def _get(raw: dict[str, Any], camel: str, snake: str) -> Any:
    return raw.get(camel, raw.get(snake))


def output_spec(raw: object) -> OutputSpec:
    """Read a stored definition (the SDK's flat form; a legacy `{score, reasoning}` one means NUMERIC)."""
    if not isinstance(raw, dict):
        return OutputSpec("NUMERIC")
    kind = str(_get(raw, "dataType", "data_type") or "NUMERIC").upper()
    score, reasoning = raw.get("score"), raw.get("reasoning")
    legacy_score = (
        score
        if isinstance(score, str)
        else (score or {}).get("description")
        if isinstance(score, dict)
        else None
    )
    legacy_reason = (
        reasoning
        if isinstance(reasoning, str)
        else (reasoning or {}).get("description")
        if isinstance(reasoning, dict)
        else None
    )
    low, high = _get(raw, "minValue", "min_value"), _get(raw, "maxValue", "max_value")
    categories = _get(raw, "categories", "categories") or []
    return OutputSpec(
        kind if kind in ("NUMERIC", "BOOLEAN", "CATEGORICAL") else "NUMERIC",
        float(low) if is_finite_number(low) else None,
        float(high) if is_finite_number(high) else None,
        tuple(str(c.get("label", c) if isinstance(c, dict) else c) for c in categories),
        bool(_get(raw, "shouldAllowMultipleMatches", "should_allow_multiple_matches")),
        _get(raw, "scoreReasoningInstructions", "reasoning_instructions") or legacy_reason,
        _get(raw, "scoreValueInstructions", "score_instructions") or legacy_score,
    )


def _score_schema(spec: OutputSpec) -> dict[str, Any]:
    if spec.data_type == "BOOLEAN":
        return {"type": "boolean", "description": spec.score_instructions or "true or false"}
    if spec.data_type == "CATEGORICAL":
        one = {"type": "string", "enum": list(spec.categories)}
        if spec.multiple:
            return {"type": "array", "items": one, "description": spec.score_instructions or "the categories"}
        return {**one, "description": spec.score_instructions or "one of the categories"}
    bounds = [
        f"at least {spec.min_value:g}" if spec.min_value is not None else "",
        f"at most {spec.max_value:g}" if spec.max_value is not None else "",
    ]
    text = ", ".join(b for b in bounds if b)
    hint = spec.score_instructions or "the score"
    return {"type": "number", "description": f"{hint} ({text})" if text else hint}


def answer_schema(spec: OutputSpec) -> dict[str, Any]:
    """The JSON schema of the answer (strict: both fields required, nothing else)."""
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "description": spec.reasoning_instructions or "why this score"},
            "score": _score_schema(spec),
        },
        "required": ["reasoning", "score"],
        "additionalProperties": False,
    }


@dataclass(frozen=True, slots=True)
class Judgment:
    """A valid answer: the reasoning and the values to write (BOOLEAN as 1/0, one per category)."""

    reasoning: str
    values: tuple[float | str, ...]
    data_type: str


def judge_answer(spec: OutputSpec, answer: dict[str, Any] | None) -> Judgment | str:
    """The answer checked against the definition, or why it breaks it."""
    if answer is None:
        return "the answer is not a JSON object"
    reasoning, score = answer.get("reasoning"), answer.get("score")
    if not isinstance(reasoning, str):
        return "the answer has no reasoning string"
    if spec.data_type == "BOOLEAN":
        if not isinstance(score, bool):
            return f"score must be true or false, got {score!r}"
        return Judgment(reasoning, (1.0 if score else 0.0,), "BOOLEAN")
    if spec.data_type == "CATEGORICAL":
        picked = score if isinstance(score, list) and spec.multiple else [score]
        if not picked or any(p not in spec.categories for p in picked):
            many = "some" if spec.multiple else "one"
            return f"score must be {many} of {list(spec.categories)}, got {score!r}"
        return Judgment(reasoning, tuple(dict.fromkeys(str(p) for p in picked)), "CATEGORICAL")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        return f"score must be a number, got {score!r}"
    value = float(score)
    if spec.min_value is not None and value < spec.min_value:
        return f"score {value:g} is below the minimum {spec.min_value:g}"
    if spec.max_value is not None and value > spec.max_value:
        return f"score {value:g} is above the maximum {spec.max_value:g}"
    return Judgment(reasoning, (value,), "NUMERIC")
