"""A span's usage counts and costs, from the first attribute convention that has them; pure.

Langfuse's own `usage_details`/`cost_details` first, then OTel GenAI and OpenInference token counts.
"""

from __future__ import annotations

from decimal import Decimal

from app.tracing.numbers import map_problem, storable_costs, storable_usage
from app.tracing.span import Attributes
from app.tracing.span_attributes import OBS_PREFIX, first_value, maybe_json


def usage_details(attrs: Attributes) -> dict[str, int]:
    """Usage counts by type (see `usage_details_noted`)."""
    return usage_details_noted(attrs)[0]


def usage_details_noted(attrs: Attributes) -> tuple[dict[str, int], dict[str, str]]:
    """Usage counts by type, and a note for each value that was no storable count (numbers.py)."""
    provided = maybe_json(attrs.get(OBS_PREFIX + "usage_details"))
    if isinstance(provided, dict):
        return storable_usage(provided)
    notes: dict[str, str] = {}

    def get(*keys: str) -> int | None:
        for key in keys:
            value = attrs.get(key)
            if value is None or value == "":
                continue
            counts, problems = storable_usage({key: value}, "attributes")
            notes.update(problems)
            if counts:
                return counts[key]
        return None

    prompt = get("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
    completion = get(
        "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"
    )
    total = get("gen_ai.usage.total_tokens", "llm.token_count.total")
    cache_read = get(
        "gen_ai.usage.cache_read_input_tokens",
        "gen_ai.usage.input_tokens_details.cached_tokens",
        "llm.token_count.prompt_details.cache_read",
    )
    cache_write = get(
        "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write"
    )
    reasoning = get(
        "gen_ai.usage.output_tokens_details.reasoning_tokens", "llm.token_count.completion_details.reasoning"
    )
    usage: dict[str, int] = {}
    if prompt is not None:
        usage["input"] = max(prompt - (cache_read or 0) - (cache_write or 0), 0)
    if completion is not None:
        usage["output"] = max(completion - (reasoning or 0), 0)
    if cache_read is not None:
        usage["input_cached_tokens"] = cache_read
    if cache_write is not None:
        usage["input_cache_creation"] = cache_write
    if reasoning is not None:
        usage["output_reasoning_tokens"] = reasoning
    if total is not None:
        usage["total"] = total
    elif usage:
        usage["total"] = sum(v for k, v in usage.items())
    return usage, notes


def usage_problem(attrs: Attributes) -> str | None:
    """Why a span's provided usage holds a value that is no number (for intake to refuse it), or None."""
    provided = maybe_json(attrs.get(OBS_PREFIX + "usage_details"))
    if isinstance(provided, dict):
        return map_problem(provided, OBS_PREFIX + "usage_details")
    return None


def cost_details(attrs: Attributes) -> dict[str, Decimal]:
    """Costs by type, USD (see `cost_details_noted`)."""
    return cost_details_noted(attrs)[0]


def cost_details_noted(attrs: Attributes) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Costs by type (USD), and a note for each value that was no storable cost (numbers.py)."""
    provided = maybe_json(attrs.get(OBS_PREFIX + "cost_details"))
    if isinstance(provided, dict):
        return storable_costs(provided)
    total = first_value(attrs, "gen_ai.usage.cost", "llm.cost.total")
    return storable_costs({"total": total}) if total is not None else ({}, {})
