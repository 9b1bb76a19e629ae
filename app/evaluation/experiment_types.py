"""The values experiments are read and written as (app.evaluation.experiments re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ExperimentView:
    """One experiment over the item runs read: run name, description, metadata, dataset, time span."""

    id: str
    name: str
    description: str | None
    metadata: dict[str, Any] | None
    dataset_id: str | None
    start_time: datetime
    end_time: datetime
    item_count: int


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    """An experiment's figures: item runs, errors, mean item score per name (mean, n), cost (USD), latency."""

    experiment_id: str
    item_count: int
    error_count: int
    scores: dict[str, tuple[float, int]]
    total_cost: float
    avg_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class ExperimentItemView:
    """One item run: its root observation (id), trace, item and experiment, input/output/expected."""

    id: str
    trace_id: str
    experiment_id: str
    experiment_name: str
    item_id: str
    dataset_id: str | None
    item_version: datetime | None
    start_time: datetime
    end_time: datetime | None
    level: str
    environment: str
    input: Any
    output: Any
    expected_output: Any
    item_metadata: dict[str, Any] | None
    experiment_metadata: dict[str, Any] | None
    experiment_description: str | None = None
    metadata: dict[str, Any] | None = None  # the root observation's (read when asked for)


@dataclass(frozen=True, slots=True)
class ExperimentFilter:
    """Experiments with item runs starting in [start, end), optionally only these ids, names, datasets."""

    start: datetime
    end: datetime | None = None
    ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    dataset_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExperimentItemFilter:
    """Item runs starting in [start, end), optionally of these experiments, items, datasets, traces."""

    start: datetime
    end: datetime | None = None
    experiment_ids: tuple[str, ...] = ()
    item_ids: tuple[str, ...] = ()
    dataset_ids: tuple[str, ...] = ()
    trace_ids: tuple[str, ...] = ()
    experiment_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunItemSpec:
    """A legacy run item (POST /dataset-run-items): the run by name, the dataset item, what ran it."""

    run_name: str
    dataset_item_id: str
    trace_id: str | None = None
    observation_id: str | None = None
    run_description: str | None = None
    metadata: Any = None
    dataset_version: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunItemView:
    """A legacy run item as recorded: its run (the experiment) and the trace/observation it links."""

    id: str
    experiment_id: str
    run_name: str
    dataset_id: str
    dataset_item_id: str
    trace_id: str
    observation_id: str | None
    created_at: datetime
    updated_at: datetime
