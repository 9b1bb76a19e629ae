"""Experiments (evaluation): item runs in `experiment_items` (migration 0009), their scores, costs and the
observations legacy run items point at.

Item rows are read FINAL (one row per experiment, trace and observation; deletion markers dropped).
Every query carries the project predicate and a capped LIMIT; lists are bounded by start time, an
experiment's own reads by its key prefix, and score/cost reads by the item runs' time span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import PROJECT, Params, in_list, where
from app.storage.clickhouse.queries.views import metadata, utc, utc_or_none
from app.storage.clickhouse.query import MAX_RESULT_ROWS, CompiledQuery

MAX_ITEMS_PER_EXPERIMENT = 100_000
ITEM_CHUNK = MAX_RESULT_ROWS
# Spans of an item trace (evaluators, late scores) start around its item run.
SPAN_SLACK = timedelta(hours=1)
# A legacy run item may be posted before or after its trace: its observation is looked for this far around.
LEGACY_WINDOW = timedelta(days=7)

_ITEM_CORE = (
    "experiment_id, experiment_name, experiment_description, dataset_id, item_id, item_version, "
    "trace_id, observation_id, start_time, end_time, level, environment, source"
)
_ITEM_IO = "input, output, expected_output"
_ITEM_METADATA = "experiment_metadata, item_metadata"


@dataclass(frozen=True, slots=True)
class ExperimentRowFilter:
    """Which item rows an experiment or item list reads: [start, end) by start time, and the listed values."""

    start: datetime
    end: datetime | None = None
    experiment_ids: tuple[str, ...] = ()
    experiment_names: tuple[str, ...] = ()
    dataset_ids: tuple[str, ...] = ()
    item_ids: tuple[str, ...] = ()
    trace_ids: tuple[str, ...] = ()

    def predicates(self, params: Params) -> list[str | None]:
        out: list[str | None] = [PROJECT, f"start_time >= {params.bind(self.start, 'DateTime64(6)')}"]
        if self.end is not None:
            out.append(f"start_time < {params.bind(self.end, 'DateTime64(6)')}")
        for column, values in (
            ("experiment_id", self.experiment_ids),
            ("experiment_name", self.experiment_names),
            ("dataset_id", self.dataset_ids),
            ("item_id", self.item_ids),
            ("trace_id", self.trace_ids),
        ):
            if values:
                out.append(in_list(params, column, values))
        return out


@dataclass(frozen=True, slots=True)
class ExperimentKey:
    """Where an experiment list page ended: its last experiment's latest activity (µs) and id."""

    end_us: int
    experiment_id: str


_EXPERIMENT_AGGREGATES = (
    "experiment_id, argMax(experiment_name, event_ts) AS name, "
    "argMax(experiment_description, event_ts) AS description, "
    "argMax(experiment_metadata, event_ts) AS metadata, argMax(dataset_id, event_ts) AS run_dataset_id, "
    "min(start_time) AS first_start, max(coalesce(end_time, start_time)) AS last_end, count() AS item_count, "
    "toInt64(toUnixTimestamp64Micro(max(coalesce(end_time, start_time)))) AS end_us"
)


def compile_experiment_list(
    project_id: str, filt: ExperimentRowFilter, after: ExperimentKey | None, limit: int
) -> CompiledQuery:
    """Experiments with item runs starting in the range, latest activity first, `limit` of them."""
    params = Params(project_id)
    having = ""
    if after is not None:
        having = (
            f" HAVING (end_us, experiment_id) < ({params.bind(after.end_us, 'Int64')}, "
            f"{params.bind(after.experiment_id, 'String')})"
        )
    sql = (
        f"SELECT {_EXPERIMENT_AGGREGATES} FROM experiment_items FINAL "
        f"WHERE {where(filt.predicates(params))} GROUP BY experiment_id{having} "
        f"ORDER BY end_us DESC, experiment_id DESC LIMIT {params.bind(limit, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.list")


def compile_experiments_by_id(project_id: str, experiment_ids: Sequence[str]) -> CompiledQuery:
    """These experiments over all their item runs (key lookups)."""
    params = Params(project_id)
    sql = (
        f"SELECT {_EXPERIMENT_AGGREGATES} FROM experiment_items FINAL "
        f"WHERE {PROJECT} AND {in_list(params, 'experiment_id', experiment_ids)} GROUP BY experiment_id "
        f"LIMIT {params.bind(len(experiment_ids), 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.by_id")


def compile_dataset_experiments(project_id: str, dataset_id: str, first: int) -> CompiledQuery:
    """A dataset's experiments, newest first: the first `first` of them, and how many there are."""
    params = Params(project_id)
    sql = (
        f"SELECT {_EXPERIMENT_AGGREGATES}, count() OVER () AS total FROM experiment_items FINAL "
        f"WHERE {PROJECT} AND dataset_id = {params.bind(dataset_id, 'String')} GROUP BY experiment_id "
        f"ORDER BY first_start DESC, experiment_id DESC LIMIT {params.bind(first, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.of_dataset")


def compile_item_page(
    project_id: str, filt: ExperimentRowFilter, after: tuple[int, str] | None, limit: int, *, io: bool
) -> CompiledQuery:
    """Item runs starting in the range, newest first; `after` = (start µs, row key) of the last row shown."""
    params = Params(project_id)
    preds = filt.predicates(params)
    row_key = "concat(experiment_id, '/', trace_id, '/', observation_id)"
    if after is not None:
        preds.append(
            f"(toInt64(toUnixTimestamp64Micro(start_time)), {row_key}) < "
            f"({params.bind(after[0], 'Int64')}, {params.bind(after[1], 'String')})"
        )
    columns = f"{_ITEM_CORE}, {_ITEM_METADATA}" + (f", {_ITEM_IO}" if io else "")
    sql = (
        f"SELECT {columns}, toInt64(toUnixTimestamp64Micro(start_time)) AS start_us, {row_key} AS row_key "
        f"FROM experiment_items FINAL WHERE {where(preds)} "
        f"ORDER BY start_us DESC, row_key DESC LIMIT {params.bind(limit, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.items")


def compile_experiment_items(
    project_id: str, experiment_id: str, after: tuple[str, str] | None, *, io: bool
) -> CompiledQuery:
    """One chunk of an experiment's item runs in key order; `after` = the last (trace_id, observation_id)."""
    params = Params(project_id)
    preds = [PROJECT, f"experiment_id = {params.bind(experiment_id, 'String')}"]
    if after is not None:
        trace, observation = params.bind(after[0], "String"), params.bind(after[1], "String")
        preds.append(f"(trace_id, observation_id) > ({trace}, {observation})")
    columns = _ITEM_CORE + (f", {_ITEM_IO}" if io else "")
    sql = (
        f"SELECT {columns} FROM experiment_items FINAL WHERE {where(preds)} "
        f"ORDER BY trace_id, observation_id LIMIT {params.bind(ITEM_CHUNK, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.items_of")


async def list_experiment_rows(
    ch: ClickHouse, project_id: str, filt: ExperimentRowFilter, after: ExperimentKey | None, limit: int
) -> list[dict[str, Any]]:
    return await ch.query(compile_experiment_list(project_id, filt, after, limit))


async def experiment_rows_by_id(
    ch: ClickHouse, project_id: str, experiment_ids: Sequence[str]
) -> list[dict[str, Any]]:
    if not experiment_ids:
        return []
    return await ch.query(compile_experiments_by_id(project_id, experiment_ids))


async def dataset_experiment_rows(
    ch: ClickHouse, project_id: str, dataset_id: str, first: int
) -> list[dict[str, Any]]:
    return await ch.query(compile_dataset_experiments(project_id, dataset_id, first))


async def item_page_rows(
    ch: ClickHouse,
    project_id: str,
    filt: ExperimentRowFilter,
    after: tuple[int, str] | None,
    limit: int,
    *,
    io: bool,
) -> list[dict[str, Any]]:
    return await ch.query(compile_item_page(project_id, filt, after, limit, io=io))


async def experiment_item_rows(
    ch: ClickHouse, project_id: str, experiment_id: str, *, io: bool
) -> list[dict[str, Any]]:
    """Every item run of one experiment (in chunks by key; at most MAX_ITEMS_PER_EXPERIMENT)."""
    out: list[dict[str, Any]] = []
    after: tuple[str, str] | None = None
    while len(out) < MAX_ITEMS_PER_EXPERIMENT:
        rows = await ch.query(compile_experiment_items(project_id, experiment_id, after, io=io))
        out += rows
        if len(rows) < ITEM_CHUNK:
            break
        after = (str(rows[-1]["trace_id"]), str(rows[-1]["observation_id"]))
    return out


# An experiment's traces and time span, as subqueries: the reads below never ship its trace ids (10,000
# ids bound as a parameter cost more than the read) and are bounded by when its item runs happened.
_OF_EXPERIMENT = "FROM experiment_items WHERE {project} AND experiment_id = {eid}"
_TRACES_OF = "trace_id IN (SELECT trace_id " + _OF_EXPERIMENT + ")"
_FIRST_START = "(SELECT min(start_time) - INTERVAL 1 HOUR " + _OF_EXPERIMENT + ")"
_LAST_END = "(SELECT max(coalesce(end_time, start_time)) + INTERVAL 1 HOUR " + _OF_EXPERIMENT + ")"


def _experiment_bounds(params: Params, experiment_id: str) -> dict[str, str]:
    eid = params.bind(experiment_id, "String")
    return {
        k: v.format(project=PROJECT, eid=eid)
        for k, v in (("traces", _TRACES_OF), ("first", _FIRST_START), ("last", _LAST_END))
    }


def compile_item_scores(project_id: str, experiment_id: str, after: str | None) -> CompiledQuery:
    """The current scores of the experiment's traces, one row per trace (trace id order, after `after`)."""
    params = Params(project_id)
    b = _experiment_bounds(params, experiment_id)
    keyset = f"AND trace_id > {params.bind(after, 'String')} " if after is not None else ""
    sql = (
        "SELECT trace_id, "
        "groupArray((ifNull(observation_id, ''), name, value, toString(data_type))) AS scores "
        "FROM (SELECT id, trace_id, observation_id, name, value, data_type, is_deleted FROM scores "
        f"WHERE {PROJECT} AND timestamp >= {b['first']} AND {b['traces']} {keyset}"
        "ORDER BY event_ts DESC LIMIT 1 BY id) "
        "WHERE is_deleted = 0 AND value IS NOT NULL GROUP BY trace_id "
        f"ORDER BY trace_id LIMIT {params.bind(ITEM_CHUNK, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.item_scores")


def compile_item_costs(project_id: str, experiment_id: str, after: str | None) -> CompiledQuery:
    """Each of the experiment's traces' total cost (USD), trace id order, after `after`."""
    params = Params(project_id)
    b = _experiment_bounds(params, experiment_id)
    keyset = f"AND trace_id > {params.bind(after, 'String')} " if after is not None else ""
    sql = (
        "SELECT trace_id, sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS cost FROM observations "
        f"WHERE {PROJECT} AND start_time >= {b['first']} AND start_time <= {b['last']} AND {b['traces']} "
        f"{keyset}GROUP BY trace_id ORDER BY trace_id LIMIT {params.bind(ITEM_CHUNK, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.item_costs")


def compile_run_scores(project_id: str, experiment_id: str) -> CompiledQuery:
    """The current run-level scores (datasetRunId) of the experiment, made since its first item run."""
    params = Params(project_id)
    b = _experiment_bounds(params, experiment_id)
    sql = (
        "SELECT name, value FROM ("
        "SELECT id, name, value, is_deleted FROM scores "
        f"WHERE {PROJECT} AND timestamp >= {b['first']} "
        f"AND dataset_run_id = {params.bind(experiment_id, 'String')} ORDER BY event_ts DESC LIMIT 1 BY id) "
        f"WHERE is_deleted = 0 LIMIT {params.bind(MAX_RESULT_ROWS, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.run_scores")


async def item_scores(
    ch: ClickHouse, project_id: str, experiment_id: str
) -> dict[str, list[tuple[str, str, float, str]]]:
    """Per trace of the experiment, its current numeric scores: (observation id or '', name, value,
    data type); trace- and observation-level alike."""
    out: dict[str, list[tuple[str, str, float, str]]] = {}
    after: str | None = None
    for _ in range(MAX_ITEMS_PER_EXPERIMENT // ITEM_CHUNK):
        rows = await ch.query(compile_item_scores(project_id, experiment_id, after))
        out |= {str(r["trace_id"]): r["scores"] for r in rows}  # type: ignore[misc]
        if len(rows) < ITEM_CHUNK:
            break
        after = str(rows[-1]["trace_id"])
    return out


async def item_costs(ch: ClickHouse, project_id: str, experiment_id: str) -> dict[str, float]:
    """Each of the experiment's traces' total cost (USD)."""
    out: dict[str, float] = {}
    after: str | None = None
    for _ in range(MAX_ITEMS_PER_EXPERIMENT // ITEM_CHUNK):
        rows = await ch.query(compile_item_costs(project_id, experiment_id, after))
        out |= {str(r["trace_id"]): float(Decimal(str(r["cost"]))) for r in rows}
        if len(rows) < ITEM_CHUNK:
            break
        after = str(rows[-1]["trace_id"])
    return out


async def run_scores(ch: ClickHouse, project_id: str, experiment_id: str) -> list[tuple[str, float]]:
    """(name, value) of the experiment's numeric run-level scores."""
    rows = await ch.query(compile_run_scores(project_id, experiment_id))
    return [(str(r["name"]), float(str(r["value"]))) for r in rows if r["value"] is not None]


@dataclass(frozen=True, slots=True)
class LinkedObservation:
    """The observation a legacy run item names (or its trace's root): what the item run's row lacks."""

    trace_id: str
    id: str
    is_root: bool
    start_time: datetime
    end_time: datetime | None
    level: str
    environment: str
    input: str | None = None
    output: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def compile_linked_observations(
    project_id: str, trace_ids: Sequence[str], ids: Sequence[str], start: datetime, end: datetime
) -> CompiledQuery:
    """The current state of these observations and of these traces' roots, starting in [start, end]."""
    params = Params(project_id)
    sql = (
        "SELECT trace_id, id, parent_observation_id IS NULL AS is_root, start_time, end_time, "
        "toString(level) AS level, toString(environment) AS environment, input, output FROM observations "
        f"WHERE {PROJECT} AND start_time >= {params.bind(start, 'DateTime64(6)')} "
        f"AND start_time <= {params.bind(end, 'DateTime64(6)')} AND {in_list(params, 'trace_id', trace_ids)} "
        f"AND (parent_observation_id IS NULL OR {in_list(params, 'id', ids)}) AND sign = 1 "
        f"ORDER BY row_version DESC LIMIT 1 BY trace_id, id LIMIT {params.bind(MAX_RESULT_ROWS, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.linked_observations")


async def linked_observations(
    ch: ClickHouse,
    project_id: str,
    trace_ids: Sequence[str],
    ids: Sequence[str],
    start: datetime,
    end: datetime,
) -> list[LinkedObservation]:
    if not trace_ids:
        return []
    q = compile_linked_observations(project_id, trace_ids, ids, start - LEGACY_WINDOW, end + LEGACY_WINDOW)
    return [
        LinkedObservation(
            str(r["trace_id"]),
            str(r["id"]),
            bool(r["is_root"]),
            utc(r["start_time"]),
            utc_or_none(r["end_time"]),
            str(r["level"]),
            str(r["environment"]),
            None if r["input"] is None else str(r["input"]),
            None if r["output"] is None else str(r["output"]),
        )
        for r in await ch.query(q)
    ]


def compile_observation_metadata(
    project_id: str, keys: Sequence[tuple[str, str]], start: datetime, end: datetime
) -> CompiledQuery:
    """The current metadata of these (trace id, observation id) observations, starting in [start, end]."""
    params = Params(project_id)
    sql = (
        "SELECT trace_id, id, metadata_names, metadata_values FROM observations "
        f"WHERE {PROJECT} AND start_time >= {params.bind(start, 'DateTime64(6)')} "
        f"AND start_time <= {params.bind(end, 'DateTime64(6)')} "
        f"AND {in_list(params, 'trace_id', sorted({t for t, _ in keys}))} "
        f"AND {in_list(params, 'id', sorted({i for _, i in keys}))} AND sign = 1 "
        f"ORDER BY row_version DESC LIMIT 1 BY trace_id, id LIMIT {params.bind(len(keys), 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.observation_metadata")


async def observation_metadata(
    ch: ClickHouse, project_id: str, keys: Sequence[tuple[str, str]], start: datetime, end: datetime
) -> dict[tuple[str, str], dict[str, Any]]:
    """The metadata of these observations (a page's item roots), by (trace id, observation id)."""
    if not keys:
        return {}
    rows = await ch.query(compile_observation_metadata(project_id, keys, start, end))
    return {
        (str(r["trace_id"]), str(r["id"])): metadata(
            cast(list[str], r["metadata_names"]), cast(list[str], r["metadata_values"])
        )
        for r in rows
    }


EXPERIMENT_ITEM_COLUMNS = [
    "project_id",
    "experiment_id",
    "experiment_name",
    "experiment_description",
    "experiment_metadata",
    "dataset_id",
    "item_id",
    "item_version",
    "item_metadata",
    "expected_output",
    "trace_id",
    "observation_id",
    "start_time",
    "end_time",
    "level",
    "environment",
    "input",
    "output",
    "source",
    "event_ts",
    "is_deleted",
]


async def insert_experiment_items(ch: ClickHouse, rows: list[list[object]]) -> None:
    """Insert item-run rows (EXPERIMENT_ITEM_COLUMNS order): legacy run items and deletion markers."""
    if rows:
        await ch.insert("experiment_items", rows, EXPERIMENT_ITEM_COLUMNS, "experiments.insert")


def compile_item_keys(project_id: str, experiment_id: str) -> CompiledQuery:
    """Every current item-run row of one experiment, whole (to write its deletion markers)."""
    params = Params(project_id)
    columns = ", ".join(c for c in EXPERIMENT_ITEM_COLUMNS if c not in ("event_ts", "is_deleted"))
    sql = (
        f"SELECT {columns} FROM experiment_items FINAL "
        f"WHERE {PROJECT} AND experiment_id = {params.bind(experiment_id, 'String')} "
        f"LIMIT {params.bind(MAX_RESULT_ROWS, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "experiments.item_keys")


async def current_item_rows(ch: ClickHouse, project_id: str, experiment_id: str) -> list[dict[str, Any]]:
    return await ch.query(compile_item_keys(project_id, experiment_id))
