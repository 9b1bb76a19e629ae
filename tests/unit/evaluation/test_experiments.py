"""Experiment ids, cursors and the span attributes that mark an item run; pure."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.evaluation import encoding
from app.evaluation.experiments import experiment_id, run_item_id
from app.tracing.mapping import experiment_attributes, experiment_problem


def test_experiment_id_matches_the_sdk_and_server_derivation() -> None:
    assert experiment_id("proj-1", "ds-1", "run-A") == "f827ed0b611b6b2f"


def test_run_item_ids_are_stable_per_link() -> None:
    assert run_item_id("e", "t", "o") == run_item_id("e", "t", "o") != run_item_id("e", "t", None)


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    assert encoding.decode_cursor(encoding.encode_cursor(123, "k/1")) == (123, "k/1")
    for bad in ("x!", "", encoding.encode_cursor(1, "k").upper(), "WyJ2MiIsMSwiayJd"):
        with pytest.raises(InvalidInput, match="cursor"):
            encoding.decode_cursor(bad)


def test_text_attributes_stay_text_and_json_ones_are_decoded() -> None:
    attrs = {
        "langfuse.experiment.id": "1234567890123456",  # all digits: still an id, not a number
        "langfuse.experiment.name": "2024",
        "langfuse.experiment.metadata": '{"model": "m1"}',
        "langfuse.experiment.item.expected_output": '"Paris"',
        "langfuse.experiment.item.root_observation_id": "abc",
        "langfuse.other": "x",
    }
    found = experiment_attributes(attrs)
    assert found == {
        "id": "1234567890123456",
        "name": "2024",
        "metadata": {"model": "m1"},
        "item.expected_output": "Paris",
        "item.root_observation_id": "abc",
    }
    assert experiment_problem(found) is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"id": None}, "langfuse.experiment.id"),
        ({"item.root_observation_id": 5}, "root_observation_id"),
        ({"metadata": "not an object"}, "langfuse.experiment.metadata"),
        ({"item.version": "yesterday"}, "item.version"),
    ],
)
def test_malformed_attributes_are_named(change: dict[str, object], named: str) -> None:
    good = {"id": "e", "name": "r", "item.root_observation_id": "o"}
    problem = experiment_problem({k: v for k, v in {**good, **change}.items() if v is not None})
    assert problem is not None and named in problem
