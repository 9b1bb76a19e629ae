"""Traces: the list query (filters, sorts, keyset pages), counts, and one trace with its observations.

`trace_page` runs the list query for one page (and its newest-first fast path).

A trace is its trace-level updates (table `traces`, folded per id) plus what its observations add
up to. Observations are read in a window around the traces' time range: a trace's spans start
within minutes of it; the window is one hour before to one day after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, assert_never, cast

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import observations as obs
from app.storage.clickhouse.queries.common import (
    PROJECT,
    SIGNED_SUMS,
    Cursor,
    MetadataFilter,
    NumberRange,
    Params,
    TagFilter,
    TimeRange,
    in_list,
    keyset,
    search_settings,
    text_search,
    where,
)
from app.storage.clickhouse.queries.views import (
    ObservationView,
    TraceTotals,
    TraceView,
    count_of,
    decimal_map,
    int_map,
    metadata,
    utc,
    utc_or_none,
)
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.writes import FOLD_TRACE_ATTRIBUTES

OBSERVATIONS_BEFORE = timedelta(hours=1)
OBSERVATIONS_AFTER = timedelta(days=1)
MAX_TRACE_OBSERVATIONS = 10_000


class TraceSort(StrEnum):
    TIMESTAMP = "TIMESTAMP"
    LATENCY = "LATENCY"
    TOTAL_COST = "TOTAL_COST"
    TOTAL_TOKENS = "TOTAL_TOKENS"


def _sort_column(sort: TraceSort) -> tuple[str, str]:
    """(expression over the list's columns, ClickHouse type of its cursor value)."""
    if sort is TraceSort.TIMESTAMP:
        return "toUnixTimestamp64Micro(ts)", "Int64"
    if sort is TraceSort.LATENCY:
        return "ifNull(latency_ms, -1)", "Float64"
    if sort is TraceSort.TOTAL_COST:
        return "toFloat64(total_cost)", "Float64"
    if sort is TraceSort.TOTAL_TOKENS:
        return "total_tokens", "Int64"
    assert_never(sort)


@dataclass(frozen=True, slots=True)
class ScoreCondition:
    """The trace has a score of this name, with a value in range (numeric) or equal to `string_value`."""

    name: str
    value: NumberRange = field(default_factory=NumberRange)
    string_value: str | None = None


@dataclass(frozen=True, slots=True)
class TraceFilter:
    ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    tags: TagFilter | None = None
    metadata: tuple[MetadataFilter, ...] = ()
    levels: tuple[str, ...] = ()  # the trace has an observation at one of these levels
    models: tuple[str, ...] = ()  # … or of one of these models
    types: tuple[str, ...] = ()  # … or of one of these types
    latency_ms: NumberRange | None = None
    total_cost: NumberRange | None = None
    total_tokens: NumberRange | None = None
    scores: tuple[ScoreCondition, ...] = ()
    search: str | None = None


@dataclass(frozen=True, slots=True)
class TraceListRequest:
    project_id: str
    time: TimeRange
    filter: TraceFilter = field(default_factory=TraceFilter)
    sort: TraceSort = TraceSort.TIMESTAMP
    descending: bool = True
    first: int = 50
    after: str | None = None
    with_io: bool = False  # read input/output (large) only when asked
    with_observation_ids: bool = False  # each trace's live observation ids (the REST list shows them)


_FOLD = (
    f"min(timestamp) AS ts, {FOLD_TRACE_ATTRIBUTES}, "
    "arraySort(groupUniqArrayArray(tags)) AS tags, max(public) AS public, max(is_deleted) AS deleted"
)
_FOLD_IO = (
    ", argMaxIf(input, event_ts, input IS NOT NULL) AS trace_input"
    ", argMaxIf(output, event_ts, output IS NOT NULL) AS trace_output"
)
_TOTALS = (
    "sum(sign) AS observation_count, "
    f"{SIGNED_SUMS}, "
    "sumMap(map(toString(type), toInt64(sign))) AS counts_by_type, "
    "sumMap(map(toString(level), toInt64(sign))) AS counts_by_level, "
    "minIf(start_time, sign = 1) AS first_start, "
    "maxIf(ifNull(end_time, start_time), sign = 1) AS last_end, "
    "groupUniqArrayIf(ifNull(provided_model_name, ''), sign = 1) AS models"
)


_IDS = f", groupUniqArrayIf({MAX_TRACE_OBSERVATIONS})(id, sign = 1) AS observation_ids"

# A trace's totals beside its folded row; a trace without observations gets none.
_JOINED = (
    "o.trace_id != '' AS has_observations, o.observation_count AS observation_count, "
    "o.sum_cost AS total_cost, o.sum_cost_details AS cost_details, o.sum_usage AS usage_details, "
    "o.total_tokens AS total_tokens, o.counts_by_type AS counts_by_type, "
    "o.counts_by_level AS counts_by_level, o.models AS models, "
    "if(o.trace_id = '', NULL, o.first_start) AS first_start, "
    "if(o.trace_id = '', NULL, o.last_end) AS last_end, "
    "if(o.trace_id = '', NULL, "
    "(toUnixTimestamp64Micro(o.last_end) - toUnixTimestamp64Micro(o.first_start)) / 1000.0) AS latency_ms"
)


def _score_subquery(params: Params, time: TimeRange, cond: ScoreCondition) -> str:
    name = params.bind(cond.name, "String")
    value_preds = cond.value.predicate(params, "value")
    if cond.string_value is not None:
        value_preds.append(f"string_value = {params.bind(cond.string_value, 'String')}")
    return (
        "SELECT trace_id FROM (SELECT trace_id, name, value, string_value, is_deleted FROM scores "
        f"WHERE {PROJECT} AND timestamp >= {params.bind(time.start - OBSERVATIONS_BEFORE, 'DateTime64(6)')} "
        f"AND trace_id IS NOT NULL ORDER BY event_ts DESC LIMIT 1 BY id) "
        f"WHERE {where(['is_deleted = 0', f'name = {name}', *value_preds])}"
    )


def compile_trace_list(req: TraceListRequest, *, count: bool = False) -> CompiledQuery:
    """The page query; with `count`, the number of traces matching (cursor and page size ignored)."""
    f, params = req.filter, Params(req.project_id)
    start, end = params.bind(req.time.start, "DateTime64(6)"), params.bind(req.time.end, "DateTime64(6)")
    obs_start = params.bind(req.time.start - OBSERVATIONS_BEFORE, "DateTime64(6)")
    obs_end = params.bind(req.time.end + OBSERVATIONS_AFTER, "DateTime64(6)")
    having = ["deleted = 0"]
    rows_where = [in_list(params, "id", f.ids)] if f.ids else []  # the group key: narrows the scan
    for column, values in (
        ("name", f.names),
        ("user_id", f.user_ids),
        ("session_id", f.session_ids),
        ("environment", f.environments),
        ("release", f.releases),
        ("version", f.versions),
    ):
        if values:
            having.append(in_list(params, column, values))
    if f.tags and f.tags.tags:
        having.append(f.tags.predicate(params, "tags"))
    for m in f.metadata:
        having.append(f"countIf({m.predicate(params, 'metadata_names', 'metadata_values')}) > 0")
    for cond in f.scores:
        having.append(f"id IN ({_score_subquery(params, req.time, cond)})")
    if f.search:
        # The matching traces first (a trace row or an observation holds the text), then the fold of
        # those alone: folding every trace of the window to test it cost seconds at 10M observations.
        own = text_search(params, ["input", "output"], f.search)
        found = text_search(params, ["input", "output"], f.search)
        rows_where.append(
            f"(id IN (SELECT id FROM traces WHERE {PROJECT} AND timestamp >= {start} AND timestamp < {end} "
            f"AND {own}) OR id IN (SELECT trace_id FROM observations WHERE {PROJECT} "
            f"AND start_time >= {obs_start} AND start_time < {obs_end} AND sign = 1 AND {found}))"
        )
    outer: list[str | None] = []
    for counts, values in (("counts_by_level", f.levels), ("counts_by_type", f.types)):
        if values:
            present = f"mapKeys(mapFilter((k, v) -> v > 0, {counts}))"
            outer.append(f"hasAny({present}, {params.bind(list(values), 'Array(String)')})")
    if f.models:
        outer.append(f"hasAny(models, {params.bind(list(f.models), 'Array(String)')})")
    for rng, expr in (
        (f.latency_ms, "latency_ms"),
        (f.total_cost, "toFloat64(total_cost)"),
        (f.total_tokens, "total_tokens"),
    ):
        if rng is not None:
            outer += rng.predicate(params, expr)
    sort_expr, sort_type = _sort_column(req.sort)
    cursor = Cursor.decode(req.after, req.sort.value) if req.after else None
    if not count:
        outer.append(keyset(params, sort_expr, sort_type, "id", cursor, req.descending))
    direction = "DESC" if req.descending else "ASC"
    # Known ids bound as a list let the observations' trace_id index skip granules (a subquery's set
    # does not): the fold of a page's traces reads those traces' rows alone.
    ids_of_t = params.bind(list(f.ids), "Array(String)") if f.ids else "(SELECT id FROM t)"
    body = (
        f"WITH t AS (SELECT id, {_FOLD}{_FOLD_IO if req.with_io else ''} FROM traces "
        f"WHERE {where([PROJECT, f'timestamp >= {start}', f'timestamp < {end}', *rows_where])} "
        f"GROUP BY id HAVING {where(having)}), "
        f"o AS (SELECT trace_id, {_TOTALS}{_IDS if req.with_observation_ids else ''} FROM observations "
        f"WHERE {PROJECT} AND start_time >= {obs_start} AND start_time < {obs_end} "
        f"AND trace_id IN {ids_of_t} GROUP BY trace_id) "
        f"SELECT * FROM (SELECT t.*, {_JOINED}{', o.observation_ids' if req.with_observation_ids else ''} "
        "FROM t LEFT JOIN o ON o.trace_id = t.id) "
        f"{'WHERE ' + where(outer) if where(outer) else ''}"
    )
    if count:
        return CompiledQuery(
            f"SELECT count() AS total FROM ({body})",
            params.values,
            "traces.count",
            settings=search_settings(f.search),
            heavy=bool(f.search),
        )
    limit = params.bind(req.first + 1, "UInt32")
    sql = f"{body} ORDER BY {sort_expr} {direction}, id {direction} LIMIT {limit}"
    return CompiledQuery(
        sql, params.values, "traces.list", settings=search_settings(f.search), heavy=bool(f.search)
    )


def trace_totals(row: dict[str, Any]) -> TraceTotals:
    """A trace's totals from a row of the list or totals query (none for a trace without observations)."""
    if not row.get("has_observations", True):
        return TraceTotals()
    return TraceTotals(
        observation_count=int(row["observation_count"]),
        latency_ms=None if row["latency_ms"] is None else float(row["latency_ms"]),
        total_cost=Decimal(row["total_cost"]),
        cost_details=decimal_map(row["cost_details"]),
        usage_details=int_map(row["usage_details"]),
        total_tokens=int(row["total_tokens"]),
        counts_by_type=int_map(row["counts_by_type"]),
        counts_by_level=int_map(row["counts_by_level"]),
        start_time=utc_or_none(row["first_start"]),
        end_time=utc_or_none(row["last_end"]),
    )


def trace_view(row: dict[str, Any], totals: TraceTotals) -> TraceView:
    """A trace from its folded row (input and output when the query read them)."""
    return TraceView(
        id=str(row["id"]),
        timestamp=utc(row["ts"]),
        name=row["name"],
        user_id=row["user_id"],
        session_id=row["session_id"],
        release=row["release"],
        version=row["version"],
        environment=str(row["environment"]),
        tags=list(row["tags"]),
        public=bool(row["public"]),
        totals=totals,
        input=row.get("trace_input"),
        output=row.get("trace_output"),
    )


def cursor_value(sort: TraceSort, trace: TraceView) -> Any:
    if sort is TraceSort.TIMESTAMP:
        return int(trace.timestamp.timestamp() * 1_000_000)
    if sort is TraceSort.LATENCY:
        return -1 if trace.totals.latency_ms is None else trace.totals.latency_ms
    if sort is TraceSort.TOTAL_COST:
        return float(trace.totals.total_cost)
    if sort is TraceSort.TOTAL_TOKENS:
        return trace.totals.total_tokens
    assert_never(sort)


async def count_traces(ch: ClickHouse, req: TraceListRequest) -> int:
    if req.filter == TraceFilter():  # every live trace with a row in the window: no fold needed
        params = Params(req.project_id)
        sql = f"SELECT uniqExact(cityHash64(id)) AS total FROM traces WHERE {_live_rows(params, req.time)}"
        return count_of(await ch.query(CompiledQuery(sql, params.values, "traces.count")))
    return count_of(await ch.query(compile_trace_list(req, count=True)))


def _live_rows(params: Params, time: TimeRange, environment: str | None = None) -> str:
    """Trace rows of the window, of traces not deleted (a deleted trace has a row saying so)."""
    start, end = params.bind(time.start, "DateTime64(6)"), params.bind(time.end, "DateTime64(6)")
    window = [PROJECT, f"timestamp >= {start}", f"timestamp < {end}"]
    if environment:
        window.append(f"environment = {params.bind(environment, 'String')}")
    return f"{where(window)} AND id NOT IN (SELECT id FROM traces WHERE {where(window)} AND is_deleted = 1)"


async def count_over_time(
    ch: ClickHouse, project_id: str, time: TimeRange, bucket_sql: str, environment: str | None = None
) -> dict[datetime, int]:
    """Traces per time bucket, from the trace rows (bucketed by row time; deleted traces left out)."""
    params = Params(project_id)
    sql = (
        # A 64-bit hash per id: half the work of hashing the strings themselves, collisions negligible.
        f"SELECT {bucket_sql} AS time, uniqExact(cityHash64(id)) AS traces FROM traces "
        f"WHERE {_live_rows(params, time, environment)} GROUP BY time ORDER BY time LIMIT 10000"
    )
    rows = await ch.query(CompiledQuery(sql, params.values, "traces.count_over_time"))
    return {utc(r["time"]): int(str(r["traces"])) for r in rows}


# --- one trace ------------------------------------------------------------------------------

_ONE = (
    f"SELECT id, {_FOLD}{_FOLD_IO}, "
    "groupArray((event_ts, metadata_names, metadata_values)) AS metadata_updates "
    f"FROM traces WHERE {PROJECT} AND id = {{id:String}} GROUP BY id LIMIT 1"
)


def compile_trace(project_id: str, trace_id: str) -> CompiledQuery:
    return CompiledQuery(_ONE, {"project_id": project_id, "id": trace_id}, "traces.one")


def compile_trace_totals(project_id: str, trace_ids: list[str]) -> CompiledQuery:
    return CompiledQuery(
        "SELECT trace_id, observation_count, sum_cost AS total_cost, sum_cost_details AS cost_details, "
        "sum_usage AS usage_details, total_tokens, counts_by_type, counts_by_level, first_start, last_end, "
        "(toUnixTimestamp64Micro(last_end) - toUnixTimestamp64Micro(first_start)) / 1000.0 AS latency_ms "
        f"FROM (SELECT trace_id, {_TOTALS} FROM observations "
        f"WHERE {PROJECT} AND trace_id IN {{ids:Array(String)}} GROUP BY trace_id) LIMIT {{limit:UInt32}}",
        {"project_id": project_id, "ids": trace_ids, "limit": len(trace_ids)},
        "traces.totals",
    )


async def fetch_totals(ch: ClickHouse, project_id: str, trace_ids: list[str]) -> dict[str, TraceTotals]:
    """Totals of several traces at once (a dataloader's batch)."""
    if not trace_ids:
        return {}
    rows = await ch.query(compile_trace_totals(project_id, trace_ids))
    return {str(r["trace_id"]): trace_totals(r) for r in rows if int(str(r["observation_count"])) > 0}


async def fetch_trace(ch: ClickHouse, project_id: str, trace_id: str) -> TraceView | None:
    """One trace with its merged metadata and totals; None if unknown or deleted. The trace row and its
    totals are read side by side (ClickHouse reads run on several threads)."""
    rows, all_totals = await asyncio.gather(
        ch.query(compile_trace(project_id, trace_id)), fetch_totals(ch, project_id, [trace_id])
    )
    if not rows or rows[0]["deleted"]:
        return None
    row = rows[0]
    merged: dict[str, Any] = {}
    updates = cast(list[tuple[Any, list[str], list[str]]], row["metadata_updates"])
    for _, names, values in sorted(updates, key=lambda u: u[0]):
        merged.update(metadata(list(names), list(values)))
    trace = trace_view(row, all_totals.get(trace_id, TraceTotals()))
    trace.metadata = merged
    return trace


async def fetch_trace_observations(ch: ClickHouse, project_id: str, trace_id: str) -> list[ObservationView]:
    """Every live observation of a trace, in start order (full input/output)."""
    req = obs.ObservationListRequest(
        project_id=project_id,
        time=None,
        filter=obs.ObservationFilter(trace_ids=(trace_id,)),
        sort=obs.ObservationSort.START_TIME,
        descending=False,
        first=MAX_TRACE_OBSERVATIONS,
        with_io=True,
    )
    rows = await ch.query(obs.compile_observation_list(req, max_first=MAX_TRACE_OBSERVATIONS))
    return [obs.observation(r) for r in rows[:MAX_TRACE_OBSERVATIONS]]
