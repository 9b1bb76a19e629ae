"""Rule filters: every SDK column and operator validates and compiles; wrong shapes name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import InvalidInput
from app.evaluation.rule_filters import (
    COLUMN_TYPES,
    OPERATORS,
    compile_filters,
    sampled,
    validate_filters,
)

SAMPLE_VALUES: dict[str, Any] = {
    "string": "x",
    "number": 1,
    "stringOptions": ["GENERATION"],
    "arrayOptions": ["a"],
    "stringObject": "x",
    "boolean": True,
    "null": "",
}


def row(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "o1",
        "trace_id": "t1",
        "parent_observation_id": "p1",
        "type": "GENERATION",
        "name": "llm",
        "environment": "default",
        "level": "DEFAULT",
        "version": "v1.2",
        "trace_name": "checkout",
        "user_id": "user-1",
        "session_id": "sess-1",
        "tags": ["a", "b"],
        "metadata_names": ["tenant"],
        "metadata_values": ["acme"],
        "output": None,
    }
    return {**base, **over}


def matches(filters: list[dict[str, Any]], r: dict[str, Any]) -> bool:
    return compile_filters(validate_filters(filters))(r)


@pytest.mark.parametrize("column", sorted(COLUMN_TYPES))
def test_every_column_takes_every_operator_of_its_type(column: str) -> None:
    ftype = COLUMN_TYPES[column]
    value = SAMPLE_VALUES[ftype]
    if column == "level":
        value = ["ERROR"]
    for op in OPERATORS[ftype]:
        f = {"type": ftype, "column": column, "operator": op, "value": value}
        if ftype == "stringObject":
            f["key"] = "tenant"
        [stored] = validate_filters([f])
        assert stored["column"] == column and stored["operator"] == op
        compile_filters([stored])(row())  # compiles and runs on a row


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"type": "string", "column": "traceName", "operator": "=", "value": "x"}, "filter[1].column"),
        (
            {"type": "stringOptions", "column": "nope", "operator": "any of", "value": ["x"]},
            "filter[1].column",
        ),
        (
            {"type": "stringOptions", "column": "name", "operator": "contains", "value": ["x"]},
            "filter[1].operator",
        ),
        (
            {"type": "stringOptions", "column": "type", "operator": "any of", "value": ["SPANX"]},
            "filter[1].value",
        ),
        ({"type": "number", "column": "toolCalls", "operator": ">", "value": "3"}, "filter[1].value"),
        ({"type": "stringObject", "column": "metadata", "operator": "=", "value": "x"}, "filter[1].key"),
        (
            {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": "yes"},
            "filter[1].value",
        ),
        (
            {"type": "datetime", "column": "name", "operator": ">", "value": "2026-01-01T00:00:00Z"},
            "filter[1].column",
        ),
        ("not an object", "filter[1]"),
    ],
)
def test_wrong_filters_name_the_field(bad: Any, field: str) -> None:
    ok = {"type": "stringOptions", "column": "name", "operator": "any of", "value": ["x"]}
    with pytest.raises(InvalidInput) as err:
        validate_filters([ok, bad])
    assert str(err.value).startswith(field)


def test_semantics() -> None:
    assert matches(
        [{"type": "stringOptions", "column": "traceName", "operator": "any of", "value": ["checkout"]}], row()
    )
    assert not matches(
        [{"type": "stringOptions", "column": "traceName", "operator": "none of", "value": ["checkout"]}],
        row(),
    )
    assert matches(
        [{"type": "string", "column": "userId", "operator": "starts with", "value": "user-"}], row()
    )
    assert not matches(
        [{"type": "string", "column": "userId", "operator": "=", "value": "user-1"}], row(user_id=None)
    )
    assert matches(
        [{"type": "string", "column": "version", "operator": "does not contain", "value": "2.0"}], row()
    )
    assert matches(
        [{"type": "arrayOptions", "column": "tags", "operator": "all of", "value": ["a", "b"]}], row()
    )
    assert not matches(
        [{"type": "arrayOptions", "column": "tags", "operator": "all of", "value": ["a", "c"]}], row()
    )
    assert matches([{"type": "arrayOptions", "column": "tags", "operator": "none of", "value": ["c"]}], row())
    meta = {"type": "stringObject", "column": "metadata", "key": "tenant"}
    assert matches([{**meta, "operator": "=", "value": "acme"}], row())
    assert matches([{**meta, "operator": "contains", "value": ""}], row())  # empty: the key is set
    assert not matches(
        [{**meta, "operator": "contains", "value": ""}], row(metadata_names=[], metadata_values=[])
    )
    assert matches(
        [{**meta, "operator": "is not set", "value": ""}], row(metadata_names=[], metadata_values=[])
    )
    root = {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True}
    assert matches([root], row(parent_observation_id=None)) and not matches([root], row())
    null = {"type": "null", "column": "parentObservationId", "operator": "is null", "value": ""}
    assert matches([null], row(parent_observation_id=None)) and not matches([null], row())


def test_tool_calls_and_experiment_columns() -> None:
    output = json.dumps(
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}},
            {"id": "c2", "type": "function", "function": {"name": "fetch", "arguments": "{}"}},
        ]}
    )  # fmt: skip
    r = row(output=output)
    assert matches([{"type": "number", "column": "toolCalls", "operator": ">=", "value": 2}], r)
    assert not matches([{"type": "number", "column": "toolCalls", "operator": ">", "value": 0}], row())
    names = {"type": "arrayOptions", "column": "calledToolNames", "operator": "any of", "value": ["search"]}
    assert matches([names], r) and not matches([names], row())
    exp = {"id": "exp-1", "dataset.id": "ds-1", "item.id": "it-1", "item.root_observation_id": "o1"}
    r = row(metadata_names=["experiment"], metadata_values=[json.dumps(exp)])
    assert matches(
        [{"type": "boolean", "column": "isExperimentItemRootSpan", "operator": "=", "value": True}], r
    )
    assert matches(
        [{"type": "stringOptions", "column": "datasetId", "operator": "any of", "value": ["ds-1"]}], r
    )
    assert matches(
        [{"type": "stringOptions", "column": "experimentId", "operator": "any of", "value": ["exp-1"]}], r
    )
    child = row(id="o2", metadata_names=["experiment"], metadata_values=[json.dumps(exp)])
    assert not matches(
        [{"type": "boolean", "column": "isExperimentItemRootSpan", "operator": "=", "value": True}], child
    )


def test_sampling_is_deterministic_and_near_the_rate() -> None:
    ids = [f"trace-{i}" for i in range(20_000)]
    picked = [i for i in ids if sampled(i, 0.25)]
    assert 0.23 < len(picked) / len(ids) < 0.27
    assert picked == [i for i in ids if sampled(i, 0.25)]
    assert set(picked) <= {i for i in ids if sampled(i, 0.5)}  # a higher rate keeps what a lower one took
    assert all(sampled(i, 1) for i in ids[:100]) and not any(sampled(i, 0) for i in ids[:100])
