"""Numeric values made storable: usage counts, costs and prompt versions per observation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.storage.clickhouse.client import refused_reason
from app.storage.clickhouse.write_rows import ObservationRow
from app.tracing import legacy
from app.tracing.costs import builtin_prices, enrich
from app.tracing.numbers import (
    DROPPED,
    MAX_COST,
    MAX_USAGE,
    Unstorable,
    cost_amount,
    make_storable,
    storable_usage,
    usage_count,
)
from app.tracing.scores import NewScore, score_problem
from app.tracing.usage import cost_details_noted, usage_details_noted, usage_problem

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def row(**kw: object) -> ObservationRow:
    return ObservationRow(
        project_id="p",
        id="o",
        trace_id="t",
        parent_observation_id=None,
        type="GENERATION",
        name="g",
        start_time=NOW,
        **kw,  # type: ignore[arg-type]
    )


def dropped(r: ObservationRow) -> dict[str, str]:
    notes: dict[str, str] = json.loads(r.metadata_values[r.metadata_names.index(DROPPED)])
    return notes


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (7, 7), (7.9, 7), ("12", 12), (MAX_USAGE, MAX_USAGE), (Decimal("3"), 3)]
)
def test_usage_counts_that_fit(value: object, expected: int) -> None:
    assert usage_count(value) == expected


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (1e30, "more than"),
        (2**70, "more than"),
        (MAX_USAGE + 1, "more than"),
        (float("inf"), "not a finite number"),
        (float("nan"), "not a finite number"),
        (-5, "negative"),
        ("abc", "not a number"),
        (True, "not a number"),
        ([1], "not a number"),
    ],
)
def test_usage_values_that_cannot_be_stored_say_why(value: object, needle: str) -> None:
    with pytest.raises(Unstorable, match=needle):
        usage_count(value)


def test_costs_fit_decimal64_12() -> None:
    assert cost_amount("0.1234567890123") == Decimal("0.123456789012")
    assert cost_amount(MAX_COST) == MAX_COST
    for value in (Decimal("1000000"), 1e30, float("inf"), -1, "x"):
        with pytest.raises(Unstorable):
            cost_amount(value)


def test_a_usage_map_keeps_what_fits_and_notes_the_rest() -> None:
    usage, notes = storable_usage({"input": 3, "output": 1e30, "cached": None, "details": {"a": 1}})
    assert usage == {"input": 3}
    assert notes == {"usage_details.output": f"1e+30: more than {MAX_USAGE} units"}


def test_otlp_usage_and_costs_drop_bad_values_with_notes() -> None:
    usage, notes = usage_details_noted(
        {
            "langfuse.observation.usage_details": '{"input": 1e30, "output": Infinity, "x": NaN, "y": -5, '
            '"z": 1180591620717411303424, "ok": 4}'
        }
    )
    assert usage == {"ok": 4}
    assert set(notes) == {f"usage_details.{k}" for k in ("input", "output", "x", "y", "z")}
    usage, notes = usage_details_noted(
        {"gen_ai.usage.input_tokens": float("inf"), "gen_ai.usage.output_tokens": 2}
    )
    assert usage == {"output": 2, "total": 2}
    assert "attributes.gen_ai.usage.input_tokens" in notes
    costs, notes = cost_details_noted({"langfuse.observation.cost_details": '{"total": 1e30, "input": 0.5}'})
    assert costs == {"input": Decimal("0.5")} and "cost_details.total" in notes
    assert usage_problem({"langfuse.observation.usage_details": '{"input": "abc"}'}) == (
        "langfuse.observation.usage_details.input must be a number, not 'abc'"
    )
    assert usage_problem({"langfuse.observation.usage_details": '{"input": 1e30}'}) is None


def test_make_storable_covers_computed_values_and_prompt_versions() -> None:
    r = row(
        usage_details={"input": 5, "total": 2 * 10**19},
        cost_details={"total": Decimal("2e6")},
        total_cost=Decimal("2e6"),
        prompt_version=2**40,
        metadata_names=[DROPPED],
        metadata_values=['{"earlier": "x"}'],
    )
    make_storable(r)
    assert r.usage_details == {"input": 5} and r.cost_details == {} and r.total_cost is None
    assert r.prompt_version is None
    assert set(dropped(r)) == {
        "earlier",
        "usage_details.total",
        "cost_details.total",
        "total_cost",
        "prompt_version",
    }


def test_huge_usage_times_a_price_is_not_stored_as_a_cost() -> None:
    r = row(provided_model_name="gpt-4o", usage_details={"input": MAX_USAGE, "output": MAX_USAGE})
    enrich(r, builtin_prices())  # ~12.5 million USD: past Decimal64(12)
    assert r.usage_details["input"] == MAX_USAGE
    assert "input" not in r.cost_details and r.total_cost is None
    assert {"cost_details.input", "cost_details.total", "total_cost"} <= set(dropped(r))


def test_batch_events_refuse_non_numbers_and_note_out_of_range_ones() -> None:
    ok = {"id": "g", "usageDetails": {"input": 1e30, "output": -5}, "costDetails": {"total": 1e30}}
    assert legacy.numbers_problem(ok) is None
    assert legacy.numbers_problem({"usageDetails": {"input": "abc"}}) == (
        "body.usageDetails.input must be a number, not 'abc'"
    )
    assert legacy.numbers_problem({"usage": {"input": 1, "unit": "TOKENS", "totalCost": "x"}}) == (
        "body.usage.totalCost must be a number, not 'x'"
    )
    assert legacy.numbers_problem({"promptVersion": "2"}) == "body.promptVersion must be a whole number"
    fields = legacy.observation_fields(
        {"type": "generation-create", "timestamp": "2026-01-01T00:00:00Z", "body": ok}
    )
    assert "usage_details" not in fields and "cost_details" not in fields
    assert set(fields["metadata"][DROPPED]) == {
        "usageDetails.input",
        "usageDetails.output",
        "costDetails.total",
    }
    old = legacy.observation_fields(
        {
            "type": "generation-create",
            "timestamp": "2026-01-01T00:00:00Z",
            "body": {"id": "g", "usage": {"input": 1e30}},
        }
    )
    assert set(legacy.fold(old, fields)["metadata"][DROPPED]) == {*fields["metadata"][DROPPED], "usage.input"}


@pytest.mark.parametrize("data_type", ["NUMERIC", "CATEGORICAL"])
def test_scores_refuse_values_no_float_holds(data_type: str) -> None:
    for value in (float("nan"), float("inf"), 10**400):
        assert score_problem(NewScore(name="q", trace_id="t", data_type=data_type, value=value)) is not None


def test_refused_reason_tells_data_errors_from_outages() -> None:
    text = (
        "Code: 69. DB::Exception: Code: 69. DB::Exception: Decimal value is too big: 7 digits were read: "
        "'1000000'e0. Expected to read decimal with scale 12 and precision 18: (while reading the value of "
        "key cost_details): (at row 1)\n: (in file/uri /tmp/x.raw): While executing ParallelParsingBlock"
        "InputFormat. (ARGUMENT_OUT_OF_BOUND) (version 26.9.2.1). (ARGUMENT_OUT_OF_BOUND)"
    )
    reason = refused_reason(text)
    assert reason is not None and reason.startswith("Decimal value is too big")
    assert reason.endswith("(ARGUMENT_OUT_OF_BOUND)") and "/tmp" not in reason
    assert refused_reason("Code: 60. DB::Exception: Unknown table observations. (UNKNOWN_TABLE)") is None
