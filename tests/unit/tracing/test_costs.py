"""Model matching, cost computation and offline token counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.storage.clickhouse.write_rows import ObservationRow
from app.tracing.costs import ModelPrice, builtin_prices, count_tokens, enrich, match_model

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def gen(model: str, **kw: object) -> ObservationRow:
    return ObservationRow(
        project_id="p",
        id="o",
        trace_id="t",
        parent_observation_id=None,
        type="GENERATION",
        name="g",
        start_time=NOW,
        provided_model_name=model,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("GPT-4.1-mini", "gpt-4.1-mini"),
        ("claude-3-5-sonnet-20241022", "claude-sonnet-4"),
        ("claude-3-haiku-20240307", "claude-3-haiku"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("mistral-large-latest", "mistral-large"),
        ("text-embedding-3-small", "text-embedding-3-small"),
        ("my-own-model", None),
        ("gpt-4o-mini-tts-x", None),
    ],
)
def test_builtin_models_match_common_names(name: str, expected: str | None) -> None:
    found = match_model(builtin_prices(), name, NOW)
    assert (found.model_name if found else None) == expected


def test_project_models_win_and_start_dates_apply() -> None:
    old = ModelPrice(
        "m1",
        "gpt-4o",
        "(?i)^gpt-4o$",
        {"input": Decimal("0.1")},
        project_id="p",
        start_date=NOW - timedelta(days=10),
    )
    new = ModelPrice(
        "m2",
        "gpt-4o",
        "(?i)^gpt-4o$",
        {"input": Decimal("0.2")},
        project_id="p",
        start_date=NOW - timedelta(days=1),
    )
    future = ModelPrice(
        "m3",
        "gpt-4o",
        "(?i)^gpt-4o$",
        {"input": Decimal("9")},
        project_id="p",
        start_date=NOW + timedelta(days=1),
    )
    models = (old, new, future, *builtin_prices())
    assert match_model(models, "gpt-4o", NOW).model_id == "m2"  # type: ignore[union-attr]
    assert match_model(models, "gpt-4o", NOW - timedelta(days=5)).model_id == "m1"  # type: ignore[union-attr]
    assert match_model((*builtin_prices(),), "gpt-4o", NOW).model_id == "builtin:gpt-4o"  # type: ignore[union-attr]


def test_cost_from_usage_and_prices() -> None:
    row = gen(
        "gpt-4o-mini", usage_details={"input": 1000, "output": 200, "input_cached_tokens": 100, "total": 1300}
    )
    enrich(row, builtin_prices())
    assert row.cost_details == {
        "input": Decimal("0.000150000000"),
        "output": Decimal("0.000120000000"),
        "input_cached_tokens": Decimal("0.000007500000"),
        "total": Decimal("0.000277500000"),
    }
    assert row.total_cost == Decimal("0.000277500000") and row.internal_model_id == "builtin:gpt-4o-mini"


def test_provided_usage_and_cost_win() -> None:
    row = gen("gpt-4o", usage_details={"input": 5}, cost_details={"total": Decimal("1")})
    enrich(row, builtin_prices())
    assert row.usage_details == {"input": 5, "total": 5} and row.cost_details == {"total": Decimal("1")}
    assert row.total_cost == Decimal("1")


def test_missing_usage_is_counted_offline() -> None:
    row = gen(
        "gpt-4o",
        input='[{"role": "user", "content": "Hello there, how are you today?"}]',
        output="I am fine.",
    )
    enrich(row, builtin_prices())
    assert row.usage_details == {"input": 8, "output": 4, "total": 12}
    assert row.cost_details["total"] == Decimal("0.000060000000")
    assert count_tokens("cl100k_base", "hello world") == 2


def test_unpriced_and_non_generation_rows_are_left_alone() -> None:
    span = gen("gpt-4o", usage_details={"input": 5})
    span.type = "SPAN"
    enrich(span, builtin_prices())
    assert span.cost_details == {}
    unknown = gen("in-house-llm", usage_details={"input": 5})
    enrich(unknown, builtin_prices())
    assert unknown.cost_details == {} and unknown.internal_model_id is None


@pytest.mark.parametrize(
    ("content_type", "encoding", "sdk"),
    [
        ("application/x-protobuf", "gzip", "5.0.4"),
        ("application/json", None, None),
        ("application/vnd.langhouse.ingestion-batch+json", None, "2.1.0-beta.1"),
    ],
)
def test_raw_keys_round_trip(content_type: str, encoding: str | None, sdk: str | None) -> None:
    from app.tracing.pipeline import RawBatch

    batch = RawBatch.create("proj", content_type, encoding, sdk)
    again = RawBatch.from_key(batch.key)
    assert (again.project_id, again.content_type, again.encoding) == ("proj", content_type, encoding)
    assert again.sdk_version == (None if sdk is None else sdk.replace("-", ""))
    assert abs((again.stored_at - datetime.now(UTC)).total_seconds()) < 5
