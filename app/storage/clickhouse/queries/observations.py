"""Observations: the list (filters, sorts, keyset pages) and one observation.

Reads take the live rows (sign = 1) and, of an observation updated through the legacy API, its
newest version (LIMIT 1 BY … ORDER BY row_version DESC). Until ClickHouse merges a legacy update,
a filter on a field that update changed is tested against each stored version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, assert_never

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import (
    MAX_PAGE,
    PROJECT,
    ROW_TOKENS,
    Cursor,
    MetadataFilter,
    NumberRange,
    Page,
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
    count_of,
    decimal_map,
    int_map,
    metadata,
    utc,
    utc_or_none,
)
from app.storage.clickhouse.query import CompiledQuery


class ObservationSort(StrEnum):
    START_TIME = "START_TIME"
    LATENCY = "LATENCY"
    TOTAL_COST = "TOTAL_COST"
    TOTAL_TOKENS = "TOTAL_TOKENS"


def _sort_column(sort: ObservationSort) -> tuple[str, str]:
    if sort is ObservationSort.START_TIME:
        return "toUnixTimestamp64Micro(start_time)", "Int64"
    if sort is ObservationSort.LATENCY:
        return "ifNull(latency_ms, -1)", "Float64"
    if sort is ObservationSort.TOTAL_COST:
        return "toFloat64(ifNull(total_cost, 0))", "Float64"
    if sort is ObservationSort.TOTAL_TOKENS:
        return ROW_TOKENS, "Int64"
    assert_never(sort)


@dataclass(frozen=True, slots=True)
class ObservationFilter:
    ids: tuple[str, ...] = ()
    trace_ids: tuple[str, ...] = ()
    parent_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    prompt_names: tuple[str, ...] = ()
    prompt_versions: tuple[int, ...] = ()
    trace_names: tuple[str, ...] = ()
    tags: TagFilter | None = None
    metadata: tuple[MetadataFilter, ...] = ()
    latency_ms: NumberRange | None = None
    total_cost: NumberRange | None = None
    total_tokens: NumberRange | None = None
    search: str | None = None
    is_root: bool | None = None  # True: only observations without a parent; False: only those with one


@dataclass(frozen=True, slots=True)
class ObservationListRequest:
    project_id: str
    time: TimeRange | None  # None only with trace_ids or ids (a trace's or an id's lookup)
    filter: ObservationFilter = field(default_factory=ObservationFilter)
    sort: ObservationSort = ObservationSort.START_TIME
    descending: bool = True
    first: int = 50
    after: str | None = None
    with_io: bool = False


# Columns read for every observation (input/output and metadata only when asked: they are large).
_COLUMNS = (
    "id, trace_id, parent_observation_id, type, name, start_time, end_time, completion_start_time, level, "
    "status_message, version, environment, release, trace_name, user_id, session_id, tags, "
    "provided_model_name, internal_model_id, model_parameters, usage_details, cost_details, total_cost, "
    "prompt_name, prompt_version, latency_ms, row_version"
)
_IO_COLUMNS = ", input, output, metadata_names, metadata_values"
_PREVIEW_COLUMNS = ", input_preview, output_preview"  # lists show the first 200 characters


def _predicates(req: ObservationListRequest, params: Params) -> list[str]:
    """The WHERE terms of every filter of the request (bound parameters; the project first)."""
    f = req.filter
    preds = [PROJECT]
    if req.time is not None:
        preds.append(f"start_time >= {params.bind(req.time.start, 'DateTime64(6)')}")
        preds.append(f"start_time < {params.bind(req.time.end, 'DateTime64(6)')}")
    for column, values in (
        ("id", f.ids),
        ("trace_id", f.trace_ids),
        ("parent_observation_id", f.parent_ids),
        ("name", f.names),
        ("type", f.types),
        ("level", f.levels),
        ("provided_model_name", f.models),
        ("user_id", f.user_ids),
        ("session_id", f.session_ids),
        ("environment", f.environments),
        ("release", f.releases),
        ("version", f.versions),
        ("prompt_name", f.prompt_names),
        ("trace_name", f.trace_names),
    ):
        if values:
            preds.append(in_list(params, column, values))
    if f.is_root is not None:
        preds.append("parent_observation_id IS NULL" if f.is_root else "parent_observation_id IS NOT NULL")
    if f.prompt_versions:
        preds.append(f"prompt_version IN {params.bind(list(f.prompt_versions), 'Array(UInt32)')}")
    if f.tags and f.tags.tags:
        preds.append(f.tags.predicate(params, "tags"))
    for m in f.metadata:
        preds.append(m.predicate(params, "metadata_names", "metadata_values"))
    for rng, expr in (
        (f.latency_ms, "latency_ms"),
        (f.total_cost, "toFloat64(ifNull(total_cost, 0))"),
        (f.total_tokens, ROW_TOKENS),
    ):
        if rng is not None:
            preds += rng.predicate(params, expr)
    if f.search:
        preds.append(text_search(params, ["input", "output"], f.search))
    return preds


def compile_observation_list(
    req: ObservationListRequest, max_first: int = MAX_PAGE, *, count: bool = False
) -> CompiledQuery:
    """The page query; with `count`, the number of observations matching."""
    f, params = req.filter, Params(req.project_id)
    if req.time is None and not (f.trace_ids or f.ids):
        raise ValueError("an observation list needs a time range, trace ids or ids")
    first = min(req.first, max_first)
    preds = _predicates(req, params)
    sort_expr, sort_type = _sort_column(req.sort)
    cursor = Cursor.decode(req.after, req.sort.value) if req.after else None
    after = None if count else keyset(params, sort_expr, sort_type, "id", cursor, req.descending)
    direction = "DESC" if req.descending else "ASC"
    columns = _COLUMNS + (_IO_COLUMNS if req.with_io else _PREVIEW_COLUMNS)
    if count:  # each live observation nets +1 over its rows, a rewritten one's cancelled pair 0
        return CompiledQuery(
            f"SELECT sum(sign) AS total FROM observations WHERE {where(preds)}",
            params.values,
            "observations.count",
            settings=search_settings(f.search),
            heavy=bool(f.search),
        )
    body = (
        f"SELECT * FROM (SELECT {columns} FROM observations WHERE {where([*preds, 'sign = 1'])} "
        "ORDER BY row_version DESC LIMIT 1 BY trace_id, id)"
        f"{' WHERE ' + after if after else ''}"
    )
    limit = params.bind(first + 1, "UInt32")
    sql = f"{body} ORDER BY {sort_expr} {direction}, id {direction} LIMIT {limit}"
    return CompiledQuery(
        sql, params.values, "observations.list", settings=search_settings(f.search), heavy=bool(f.search)
    )


def observation(row: dict[str, Any]) -> ObservationView:
    """A result row as an ObservationView."""
    return ObservationView(
        id=str(row["id"]),
        trace_id=str(row["trace_id"]),
        parent_observation_id=row["parent_observation_id"],
        type=str(row["type"]),
        name=str(row["name"]),
        start_time=utc(row["start_time"]),
        end_time=utc_or_none(row["end_time"]),
        completion_start_time=utc_or_none(row["completion_start_time"]),
        level=str(row["level"]),
        status_message=row["status_message"],
        version=row["version"],
        environment=str(row["environment"]),
        release=row["release"],
        trace_name=row["trace_name"],
        user_id=row["user_id"],
        session_id=row["session_id"],
        tags=list(row["tags"]),
        model=row["provided_model_name"],
        internal_model_id=row["internal_model_id"],
        model_parameters=row["model_parameters"],
        usage_details=int_map(row["usage_details"], summed=False),
        cost_details=decimal_map(row["cost_details"], summed=False),
        total_cost=None if row["total_cost"] is None else Decimal(row["total_cost"]),
        prompt_name=row["prompt_name"],
        prompt_version=row["prompt_version"],
        latency_ms=row["latency_ms"],
        input=row["input"] if "input" in row else row.get("input_preview"),
        output=row["output"] if "output" in row else row.get("output_preview"),
        metadata=metadata(list(row.get("metadata_names", [])), list(row.get("metadata_values", []))),
    )


def cursor_value(sort: ObservationSort, o: ObservationView) -> Any:
    if sort is ObservationSort.START_TIME:
        return int(o.start_time.timestamp() * 1_000_000)
    if sort is ObservationSort.LATENCY:
        return -1 if o.latency_ms is None else o.latency_ms
    if sort is ObservationSort.TOTAL_COST:
        return float(o.total_cost or 0)
    if sort is ObservationSort.TOTAL_TOKENS:
        return o.total_tokens
    assert_never(sort)


async def count_observations(ch: ClickHouse, req: ObservationListRequest) -> int:
    return count_of(await ch.query(compile_observation_list(req, count=True)))


CANDIDATE_FACTOR = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def compile_observation_candidates(req: ObservationListRequest, limit: int) -> CompiledQuery:
    """The newest matching rows (after the cursor), read in sort-key order and stopping early."""
    params = Params(req.project_id)
    preds = [*_predicates(req, params), "sign = 1"]
    if req.after:
        cursor = Cursor.decode(req.after, req.sort.value)
        keyset(params, "start_time", "Int64", "id", cursor, True)  # validates the cursor's value
        preds.append(f"toUnixTimestamp64Micro(start_time) <= {params.bind(cursor.value, 'Int64')}")
    sql = (
        f"SELECT id, toUnixTimestamp64Micro(start_time) AS us FROM observations WHERE {where(preds)} "
        f"ORDER BY toStartOfMinute(start_time) DESC, start_time DESC LIMIT {params.bind(limit, 'UInt32')}"
    )
    return CompiledQuery(
        sql,
        params.values,
        "observations.candidates",
        settings=search_settings(req.filter.search),
        heavy=bool(req.filter.search),
    )


async def _newest_page(
    ch: ClickHouse, req: ObservationListRequest, max_first: int
) -> list[dict[str, Any]] | None:
    """Newest first without deduplicating every row of the window: only the newest rows' observations.
    None when those cannot prove the page exact (then the whole window is read)."""
    assert req.time is not None
    limit = CANDIDATE_FACTOR * (req.first + 1)
    candidates = await ch.query(compile_observation_candidates(req, limit))
    if not candidates:
        return []
    ids = tuple(dict.fromkeys(str(r["id"]) for r in candidates))
    oldest = _EPOCH + timedelta(microseconds=min(int(str(r["us"])) for r in candidates))
    time = replace(req.time, start=max(req.time.start, oldest))
    rows = await ch.query(
        compile_observation_list(replace(req, time=time, filter=replace(req.filter, ids=ids)), max_first)
    )
    if len(candidates) < limit:  # every row after the cursor was a candidate
        return rows
    page = rows[: req.first + 1]
    # An observation left out has no live row newer than the last candidate.
    threshold = _EPOCH + timedelta(microseconds=int(str(candidates[-1]["us"])))
    if len(page) == req.first + 1 and all(utc(r["start_time"]) > threshold for r in page):
        return rows
    return None


async def list_observations(
    ch: ClickHouse, req: ObservationListRequest, max_first: int = MAX_PAGE
) -> Page[ObservationView]:
    req = replace(req, first=min(req.first, max_first))
    rows = None
    if (
        req.time is not None
        and req.sort is ObservationSort.START_TIME
        and req.descending
        and not req.filter.ids
    ):
        rows = await _newest_page(ch, req, max_first)
    if rows is None:
        rows = await ch.query(compile_observation_list(req, max_first))
    items = [observation(r) for r in rows[: req.first]]
    end = Cursor(req.sort.value, cursor_value(req.sort, items[-1]), items[-1].id).encode() if items else None
    return Page(items, len(rows) > req.first, end)


NEAR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ObservationRef:
    """An observation to look up: its id, and when known its trace and a start time near the one it has."""

    id: str
    trace_id: str | None = None
    near: datetime | None = None


async def fetch_observation(
    ch: ClickHouse,
    project_id: str,
    observation_id: str,
    trace_id: str | None = None,
    near: datetime | None = None,
) -> ObservationView | None:
    """One observation by id, full input/output (fetch_observations)."""
    return (await fetch_observations(ch, project_id, [ObservationRef(observation_id, trace_id, near)]))[0]


async def fetch_observations(
    ch: ClickHouse, project_id: str, refs: Sequence[ObservationRef]
) -> list[ObservationView | None]:
    """Observations by id in one read, full input/output; one answer per ref (None: not stored). The ids'
    bloom filter index finds their granules; with every ref's trace id and start time (within an hour
    either way) the sort key narrows the read to a few granules instead of every part of the project.
    Refs missed within those bounds (a start time corrected since) are read again without them."""
    if not refs:
        return []
    nears = [r.near for r in refs if r.near is not None]
    time = TimeRange(min(nears) - NEAR, max(nears) + NEAR) if nears and len(nears) == len(refs) else None
    ids = tuple({r.id for r in refs})
    trace_ids = tuple({r.trace_id for r in refs if r.trace_id}) if all(r.trace_id for r in refs) else ()
    f = ObservationFilter(ids=ids, trace_ids=trace_ids)
    req = ObservationListRequest(project_id, time, f, first=2 * len(ids), with_io=True)
    rows = await ch.query(compile_observation_list(req, 2 * len(ids)))
    found = {(str(r["trace_id"]), str(r["id"])): r for r in rows}
    by_id = {str(r["id"]): r for r in rows}

    def pick(ref: ObservationRef) -> dict[str, Any] | None:
        return found.get((ref.trace_id, ref.id)) if ref.trace_id else by_id.get(ref.id)

    views = [None if (row := pick(r)) is None else observation(row) for r in refs]
    missed = [i for i, view in enumerate(views) if view is None]
    if missed and time is not None:
        unbounded = [ObservationRef(refs[i].id, refs[i].trace_id) for i in missed]
        for i, view in zip(missed, await fetch_observations(ch, project_id, unbounded), strict=True):
            views[i] = view
    return views
