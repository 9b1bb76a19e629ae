"""A span's usage counts and costs from its attributes."""

from __future__ import annotations

from app.tracing.usage import usage_details


def test_usage_normalisation_subtracts_cache_and_reasoning() -> None:
    attrs = {
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.cache_read_input_tokens": 30,
        "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.output_tokens_details.reasoning_tokens": 20,
    }
    assert usage_details(attrs) == {
        "input": 70,
        "output": 30,
        "input_cached_tokens": 30,
        "output_reasoning_tokens": 20,
        "total": 150,
    }
    assert usage_details({"langfuse.observation.usage_details": '{"input": 3, "bad": -1, "x": "y"}'}) == {
        "input": 3
    }
