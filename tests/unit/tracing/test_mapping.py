"""Span → observation mapping (langfuse-api.md §2b-2c), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.tracing.mapping import map_span, normalize_environment, observation_type
from app.tracing.span import Span, SpanEvent

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def span(
    attrs: dict,
    *,
    parent: str | None = "p" * 16,
    scope: tuple[str, str] = ("langfuse-sdk", "5.0.4"),
    status: int = 0,
    events: tuple[SpanEvent, ...] = (),
    resource: dict | None = None,
) -> Span:
    return Span(
        "t" * 32,
        "s" * 16,
        parent,
        "op",
        1_700_000_000_000_000_000,
        1_700_000_000_250_000_000,
        attrs,
        resource or {},
        scope[0],
        scope[1],
        status,
        "",
        events,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Production", "production"),
        ("langfuse-prod", "prod"),
        ("langfuse_dev", "dev"),
        ("langfuse", "default"),
        ("has space", "default"),
        ("x" * 41, "default"),
        (None, "default"),
        ("staging-2", "staging-2"),
    ],
)
def test_environment_normalisation(value: object, expected: str) -> None:
    assert normalize_environment(value) == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"langfuse.observation.type": "agent"}, "AGENT"),
        ({"openinference.span.kind": "LLM"}, "GENERATION"),
        ({"openinference.span.kind": "RETRIEVER"}, "RETRIEVER"),
        ({"gen_ai.operation.name": "embeddings"}, "EMBEDDING"),
        ({"gen_ai.operation.name": "execute_tool"}, "TOOL"),
        ({"gen_ai.tool.call.id": "c1"}, "TOOL"),
        ({"gen_ai.request.model": "m"}, "GENERATION"),
        ({"model": "m"}, "GENERATION"),
        ({"langfuse.observation.type": "bogus", "openinference.span.kind": "CHAIN"}, "CHAIN"),
        ({}, "SPAN"),
    ],
)
def test_observation_type_first_match_wins(attrs: dict, expected: str) -> None:
    assert observation_type(attrs) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (("b", "a"), ["a", "b"]),
        ('["x", "y"]', ["x", "y"]),
        ("p, q", ["p", "q"]),
        ("solo", ["solo"]),
        (None, []),
    ],
)
def test_tag_shapes(tags: object, expected: list[str]) -> None:
    row, _ = map_span("proj", span({"langfuse.trace.tags": tags}), None, NOW)
    assert row.tags == expected


def test_levels_status_and_events() -> None:
    row, _ = map_span("proj", span({"langfuse.observation.level": "warning"}), None, NOW)
    assert row.level == "WARNING"
    boom = SpanEvent("exception", 1, {"exception.message": "boom"})
    row, _ = map_span("proj", span({}, status=2, events=(boom,)), None, NOW)
    assert row.level == "ERROR"
    meta = dict(zip(row.metadata_names, row.metadata_values, strict=True))
    assert "boom" in meta["events"]


def test_sdk5_metadata_is_decoded_and_older_kept_as_is() -> None:
    attrs = {"langfuse.observation.metadata.tenant": '"acme"', "langfuse.observation.metadata.n": "3"}
    row, _ = map_span("proj", span(attrs), None, NOW)
    assert dict(zip(row.metadata_names, row.metadata_values, strict=True)) == {"tenant": "acme", "n": "3"}
    row, _ = map_span("proj", span(attrs, scope=("langfuse-sdk", "4.1.0")), None, NOW)
    assert dict(zip(row.metadata_names, row.metadata_values, strict=True))["tenant"] == '"acme"'


def test_roots_app_roots_and_trace_rows() -> None:
    row, trace = map_span("proj", span({"langfuse.observation.input": "q"}, parent=None), None, NOW)
    assert (
        row.parent_observation_id is None and trace is not None and trace.name == "op" and trace.input == "q"
    )
    row, trace = map_span(
        "proj", span({"langfuse.internal.is_app_root": True, "langfuse.observation.output": "a"}), None, NOW
    )
    assert row.parent_observation_id == "p" * 16 and trace is not None and trace.output == "a"
    row, trace = map_span("proj", span({"langfuse.internal.as_root": True}), None, NOW)
    assert row.parent_observation_id is None
    _, trace = map_span("proj", span({}), None, NOW)
    assert trace is None


def test_prompt_link_only_on_generations_and_experiment_kept() -> None:
    attrs = {
        "langfuse.observation.prompt.name": "p",
        "langfuse.observation.prompt.version": 3,
        "langfuse.experiment.id": "e1",
        "langfuse.experiment.item.id": "i1",
    }
    gen, _ = map_span("proj", span({**attrs, "langfuse.observation.type": "generation"}), None, NOW)
    assert (gen.prompt_name, gen.prompt_version) == ("p", 3)
    plain, _ = map_span("proj", span(attrs), None, NOW)
    assert plain.prompt_name is None
    meta = dict(zip(plain.metadata_names, plain.metadata_values, strict=True))
    assert '"id": "e1"' in meta["experiment"] and '"item.id": "i1"' in meta["experiment"]


def test_foreign_spans_keep_their_attributes_resource_and_scope() -> None:
    row, _ = map_span(
        "proj",
        span({"http.method": "GET"}, scope=("my-lib", "1.0"), resource={"service.name": "api"}),
        None,
        NOW,
    )
    meta = dict(zip(row.metadata_names, row.metadata_values, strict=True))
    assert (
        '"http.method": "GET"' in meta["attributes"] and '"service.name": "api"' in meta["resourceAttributes"]
    )
    assert '"name": "my-lib"' in meta["scope"]
