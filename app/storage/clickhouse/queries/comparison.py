"""The compare view's statistics reads, returned as arrays (columns in one row, or one row per score name),
not as a row per item run: a comparison reads up to 5 x 100,000 of them. Cost and latency come averaged
per item and run; score values come one per (item run, value), for the caller to average (numpy does it
for less CPU than grouping them here).

Values as app/evaluation/experiments.py reads them item run by item run: a score counts for an item run
when it is on its trace, trace-level or on its observation; cost is the sum of its trace's observations
(absent when the trace has none); latency its end minus start (absent without an end). Score and cost
reads are bounded by the compared runs' time span (an hour either side of all of them) and their traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import PROJECT, Params
from app.storage.clickhouse.queries.experiments import MAX_ITEMS_PER_EXPERIMENT
from app.storage.clickhouse.query import MAX_RESULT_ROWS, CompiledQuery

_RUNS = "FROM experiment_items WHERE {project} AND experiment_id IN {ids}"
_FIRST = "(SELECT min(start_time) - INTERVAL 1 HOUR " + _RUNS + ")"
_LAST = "(SELECT max(coalesce(end_time, start_time)) + INTERVAL 1 HOUR " + _RUNS + ")"
_TRACES = "trace_id IN (SELECT trace_id " + _RUNS + ")"
# One row per item run (FINAL: current rows, deletion markers dropped); run = position in the ids, rid =
# the row's number in this read (the caller groups a score's values by it).
_ITEM_RUNS = (
    "item_runs AS (SELECT rowNumberInAllBlocks() AS rid, toUInt8(indexOf({ids}, experiment_id) - 1) AS run, "
    "item_id, trace_id, "
    "observation_id, source, end_time IS NOT NULL AS ended, "
    "toFloat64(dateDiff('microsecond', start_time, ifNull(end_time, start_time))) / 1000 AS latency_ms "
    "FROM experiment_items FINAL WHERE {project} AND experiment_id IN {ids} LIMIT {cap})"
)


def _parts(params: Params, experiment_ids: Sequence[str]) -> dict[str, str]:
    ids = params.bind(list(experiment_ids), "Array(String)")
    cap = params.bind(MAX_ITEMS_PER_EXPERIMENT * len(experiment_ids), "UInt32")
    return {
        k: v.format(project=PROJECT, ids=ids, cap=cap)
        for k, v in (("item_runs", _ITEM_RUNS), ("first", _FIRST), ("last", _LAST), ("traces", _TRACES))
    }


def compile_item_columns(project_id: str, experiment_ids: Sequence[str]) -> CompiledQuery:
    """One row of arrays: per item, its key and table position (the first run holding it, then its first
    item run by trace and observation id), and legacy item runs of all; per item and run (item-major),
    the mean and count of its cost (USD) and latency (ms) over its item runs."""
    params = Params(project_id)
    p = _parts(params, experiment_ids)
    by_run = f"Resample(0, {len(experiment_ids):d}, 1)"  # per run, an array over the runs
    costs = (
        "costs AS (SELECT trace_id, toFloat64(sum(ifNull(total_cost, 0) * sign)) AS cost "
        f"FROM observations WHERE {PROJECT} AND start_time >= {p['first']} AND start_time <= {p['last']} "
        f"AND {p['traces']} GROUP BY trace_id)"
    )
    per_item = (
        "SELECT item_id, min((run, i.trace_id, observation_id)) AS first, "
        f"countIf(source = 'api') AS legacy, avgIf{by_run}(c.cost, c.trace_id != '', run) AS cost_mean, "
        f"countIf{by_run}(c.trace_id != '', run) AS cost_n, avgIf{by_run}(latency_ms, ended, run) AS "
        f"latency_mean, countIf{by_run}(ended, run) AS latency_n "
        "FROM item_runs AS i LEFT JOIN costs AS c ON c.trace_id = i.trace_id GROUP BY item_id"
    )
    sql = (
        f"WITH {p['item_runs']}, {costs} "
        "SELECT groupArray(item_id) AS item_ids, groupArray(pos) AS positions, sum(legacy) AS legacy, "
        "arrayFlatten(groupArray(cost_mean)) AS cost_means, "
        "arrayFlatten(groupArray(cost_n)) AS cost_counts, "
        "arrayFlatten(groupArray(latency_mean)) AS latency_means, "
        "arrayFlatten(groupArray(latency_n)) AS latency_counts "
        f"FROM (SELECT *, row_number() OVER (ORDER BY first) - 1 AS pos FROM ({per_item})) LIMIT 1"
    )
    return CompiledQuery(sql, params.values, "comparison.item_columns")


def compile_score_columns(
    project_id: str, experiment_ids: Sequence[str], binary_types: Sequence[str]
) -> CompiledQuery:
    """One row per score name: whether any of its values is of `binary_types`, and arrays with one entry
    per value of an item run: the item key, the run, the item run's number in this read and the value
    (the caller averages them per item run, then per item and run: numpy does that for a third of the
    CPU that grouping them here costs)."""
    params = Params(project_id)
    p = _parts(params, experiment_ids)
    binary = params.bind(list(binary_types), "Array(String)")
    latest = (
        "SELECT trace_id, ifNull(observation_id, '') AS scored, name, assumeNotNull(value) AS value, "
        f"toString(data_type) IN {binary} AS binary FROM (SELECT id, trace_id, observation_id, name, value, "
        f"data_type, is_deleted FROM scores WHERE {PROJECT} AND timestamp >= {p['first']} "
        f"AND {p['traces']} ORDER BY event_ts DESC LIMIT 1 BY id) "
        "WHERE is_deleted = 0 AND value IS NOT NULL"
    )
    matched = (
        "SELECT rid, run AS r, item_id AS k, s.name AS name, s.value AS v, s.binary AS b "
        f"FROM item_runs AS i INNER JOIN ({latest}) AS s ON s.trace_id = i.trace_id "
        "WHERE s.scored = '' OR s.scored = i.observation_id"
    )
    sql = (
        f"WITH {p['item_runs']} "
        "SELECT name, max(b) AS binary, groupArray(k) AS item_ids, groupArray(r) AS runs, "
        f"groupArray(rid) AS item_runs, groupArray(v) AS values FROM ({matched}) GROUP BY name "
        f"ORDER BY name LIMIT {params.bind(MAX_RESULT_ROWS, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "comparison.score_columns")


async def item_columns(ch: ClickHouse, project_id: str, experiment_ids: Sequence[str]) -> dict[str, Any]:
    """The runs' arrays of compile_item_columns (empty when they have no item runs)."""
    [row] = await ch.query(compile_item_columns(project_id, experiment_ids))
    return row


async def score_columns(
    ch: ClickHouse, project_id: str, experiment_ids: Sequence[str], binary_types: Sequence[str]
) -> list[dict[str, Any]]:
    """The runs' per-score rows of compile_score_columns, in name order."""
    return await ch.query(compile_score_columns(project_id, experiment_ids, binary_types))
