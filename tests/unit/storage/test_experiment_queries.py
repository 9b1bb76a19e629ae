"""The experiment compilers: hostile strings only ever among the bound parameters, every query tenant-
scoped and capped, lists bounded by start time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.storage.clickhouse.queries import comparison as cq
from app.storage.clickhouse.queries import experiments as eq
from tests.unit.storage.test_query_injection import HOSTILE, check

T1 = datetime(2026, 11, 20, tzinfo=UTC)
P = "proj"

BUILDERS: dict[str, Callable[[str], Any]] = {
    "list ids": lambda v: eq.compile_experiment_list(
        P, eq.ExperimentRowFilter(T1, experiment_ids=(v,)), None, 10
    ),
    "list names": lambda v: eq.compile_experiment_list(
        P, eq.ExperimentRowFilter(T1, experiment_names=(v,)), None, 10
    ),
    "list cursor": lambda v: eq.compile_experiment_list(
        P, eq.ExperimentRowFilter(T1), eq.ExperimentKey(1, v), 10
    ),
    "by id": lambda v: eq.compile_experiments_by_id(P, [v]),
    "of dataset": lambda v: eq.compile_dataset_experiments(P, v, 10),
    "items filter": lambda v: eq.compile_item_page(
        P, eq.ExperimentRowFilter(T1, dataset_ids=(v,), item_ids=(v,), trace_ids=(v,)), None, 10, io=True
    ),
    "items cursor": lambda v: eq.compile_item_page(P, eq.ExperimentRowFilter(T1), (5, v), 10, io=False),
    "items of": lambda v: eq.compile_experiment_items(P, v, (v, v), io=True),
    "item scores": lambda v: eq.compile_item_scores(P, v, v),
    "run scores": lambda v: eq.compile_run_scores(P, v),
    "item costs": lambda v: eq.compile_item_costs(P, v, v),
    "linked": lambda v: eq.compile_linked_observations(P, [v], [v], T1, T1),
    "item keys": lambda v: eq.compile_item_keys(P, v),
    "metadata": lambda v: eq.compile_observation_metadata(P, [(v, v)], T1, T1),
    "compare items": lambda v: cq.compile_item_columns(P, ["a", v]),
    "compare scores": lambda v: cq.compile_score_columns(P, [v, "b"], [v]),
}


@pytest.mark.parametrize("evil", HOSTILE)
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_hostile_values_stay_parameters(name: str, evil: str) -> None:
    check(BUILDERS[name], evil)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_query_is_scoped_and_capped(name: str) -> None:
    q = BUILDERS[name]("x")
    assert q.parameters["project_id"] == P and "project_id = {project_id:String}" in q.sql
    assert " LIMIT {" in q.sql


def test_lists_are_bounded_by_start_time() -> None:
    q = eq.compile_item_page(P, eq.ExperimentRowFilter(T1, T1 + timedelta(days=1)), None, 10, io=False)
    assert "start_time >= {" in q.sql and "start_time < {" in q.sql and "input" not in q.sql
    q = eq.compile_experiment_list(P, eq.ExperimentRowFilter(T1), None, 10)
    assert "start_time >= {" in q.sql and "FINAL" in q.sql
