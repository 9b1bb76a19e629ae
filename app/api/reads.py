"""Langfuse-compatible REST reads (langfuse-api.md §3, §7) through the same query layer as GraphQL.

Page-based lists (≤ 4.x SDKs) read `page * limit` rows by keyset and return the last `limit`, so no
query uses OFFSET; cursor lists (v2 observations, v3 scores) pass the query layer's cursor along.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, delete, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shapes import observation_json, score_json, score_v3_json, session_json, trace_json
from app.errors import InvalidInput, NotFound
from app.http_json import ApiDoc, json_body
from app.storage import Storage
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import (
    NumberRange,
    TagFilter,
    TagMatch,
    TimeRange,
    lookup_range,
)
from app.tracing import reads, values

MAX_PAGED_ROWS = 10_000
TIMESTAMP_PARAMS = ("fromTimestamp", "toTimestamp")
# ClickHouse reads stop at their row and time limits (app.storage.clickhouse.client).
READ = ApiDoc(
    errors={422: "The query would read too much or run too long; narrow the time range or filters."}
)
MAX_V2_LIMIT = 1_000


def _storage(request: Request[Any, Any, State]) -> tuple[Storage, str]:
    return request.app.state.storage, request.state.caller.project_id


def _first_for(page: int, limit: int) -> int:
    if page * limit > MAX_PAGED_ROWS:
        raise InvalidInput(f"page * limit may be at most {MAX_PAGED_ROWS}; narrow the time range instead")
    return page * limit


def _tuple(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


# --- traces -----------------------------------------------------------------------------------------


def _trace_request(
    project_id: str,
    first: int,
    *,
    user_id: str | None = None,
    name: str | None = None,
    session_id: str | None = None,
    from_ts: datetime | None = None,
    to_ts: datetime | None = None,
    tags: list[str] | None = None,
    version: str | None = None,
    release: str | None = None,
    environment: list[str] | None = None,
    order_by: str | None = None,
) -> tq.TraceListRequest:
    sort, descending = tq.TraceSort.TIMESTAMP, True
    if order_by:
        field, _, direction = order_by.partition(".")
        sorts = {
            "timestamp": tq.TraceSort.TIMESTAMP,
            "latency": tq.TraceSort.LATENCY,
            "totalCost": tq.TraceSort.TOTAL_COST,
        }
        if field not in sorts or direction.upper() not in ("ASC", "DESC", ""):
            raise InvalidInput("orderBy must be timestamp|latency|totalCost, then .asc or .desc")
        sort, descending = sorts[field], direction.upper() != "ASC"
    return tq.TraceListRequest(
        project_id,
        TimeRange.resolve(from_ts, to_ts, names=TIMESTAMP_PARAMS),
        tq.TraceFilter(
            user_ids=_tuple(user_id),
            names=_tuple(name),
            session_ids=_tuple(session_id),
            tags=TagFilter(tuple(tags), TagMatch.ALL) if tags else None,
            versions=_tuple(version),
            releases=_tuple(release),
            environments=tuple(environment or ()),
        ),
        sort,
        descending,
        first,
        with_io=True,
    )


@get("/traces", opt=READ.opt)
async def list_traces(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    user_id: Annotated[str | None, Parameter(query="userId")] = None,
    name: str | None = None,
    session_id: Annotated[str | None, Parameter(query="sessionId")] = None,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
    order_by: Annotated[str | None, Parameter(query="orderBy")] = None,
    tags: list[str] | None = None,
    version: str | None = None,
    release: str | None = None,
    environment: list[str] | None = None,
) -> dict[str, Any]:
    storage, project_id = _storage(request)
    req = _trace_request(
        project_id,
        _first_for(page, limit),
        user_id=user_id,
        name=name,
        session_id=session_id,
        from_ts=from_timestamp,
        to_ts=to_timestamp,
        tags=tags,
        version=version,
        release=release,
        environment=environment,
        order_by=order_by,
    )
    req = replace(req, with_observation_ids=True)
    result, total = await asyncio.gather(
        reads.list_traces(storage, req), tq.count_traces(storage.clickhouse, req)
    )
    items = result.items[(page - 1) * limit :]
    scores = await reads.score_ids(storage, project_id, [t.id for t in items])
    data = []
    for t in items:
        body = trace_json(t, project_id)
        body["observations"], body["scores"] = t.observation_ids or [], scores[t.id]
        data.append(body)
    return {"data": data, "meta": page_meta(page, limit, total)}


@get("/traces/{trace_id:str}", opt=READ.opt)
async def get_trace(request: Request[Any, Any, State], trace_id: str) -> dict[str, Any]:
    storage, project_id = _storage(request)
    detail = await reads.trace_detail(storage, project_id, trace_id)
    body = trace_json(detail.trace, project_id)
    body["observations"] = [observation_json(o, project_id) for o in detail.observations]
    body["scores"] = [score_json(s, project_id) for s in detail.scores]
    return body


@delete("/traces/{trace_id:str}", status_code=200)
async def delete_trace(request: Request[Any, Any, State], trace_id: str) -> dict[str, Any]:
    storage, project_id = _storage(request)
    if not await reads.delete_traces(storage, project_id, [trace_id]):
        raise NotFound(f"trace {trace_id!r} not found")
    return {"message": "Trace deleted successfully"}


DELETE_TRACES = ApiDoc(
    body={
        "type": "object",
        "required": ["traceIds"],
        "properties": {"traceIds": {"type": "array", "items": {"type": "string"}}},
    }
)


@delete("/traces", status_code=200, opt=DELETE_TRACES.opt)
async def delete_traces(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage, project_id = _storage(request)
    body = await json_body(request)
    ids = body.get("traceIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("traceIds must be a list of trace ids")
    await reads.delete_traces(storage, project_id, ids)
    return {"message": "Traces deleted successfully"}


# --- observations ------------------------------------------------------------------------------------


def _observation_filter(
    name: str | None,
    user_id: str | None,
    session_id: str | None,
    type_: str | None,
    trace_id: str | None,
    level: str | None,
    parent_observation_id: str | None,
    environment: list[str] | None,
    version: str | None,
    is_root: bool | None = None,
) -> oq.ObservationFilter:
    return oq.ObservationFilter(
        names=_tuple(name),
        user_ids=_tuple(user_id),
        session_ids=_tuple(session_id),
        types=_tuple(type_),
        trace_ids=_tuple(trace_id),
        levels=_tuple(level),
        parent_ids=_tuple(parent_observation_id),
        environments=tuple(environment or ()),
        versions=_tuple(version),
        is_root=is_root,
    )


@get("/observations/{observation_id:str}", opt=READ.opt)
async def get_observation(request: Request[Any, Any, State], observation_id: str) -> dict[str, Any]:
    storage, project_id = _storage(request)
    found = await oq.fetch_observation(storage.clickhouse, project_id, observation_id)
    if found is None:
        raise NotFound(f"observation {observation_id!r} not found")
    return observation_json(found, project_id)


@get("/observations/{observation_id:str}/original/{field:str}", media_type="text/plain; charset=utf-8")
async def get_observation_original(
    request: Request[Any, Any, State], observation_id: str, field: str
) -> bytes:
    """The whole input or output of an observation whose stored copy was truncated at ingestion."""
    storage, project_id = _storage(request)
    return await values.fetch_original(storage, project_id, observation_id, field)


V2_GROUPS = (
    "core",
    "basic",
    "time",
    "io",
    "metadata",
    "model",
    "usage",
    "prompt",
    "metrics",
    "trace_context",
)


@get(["/observations", "/v2/observations"], opt=READ.opt)
async def list_observations(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_V2_LIMIT)] = 50,
    cursor: str | None = None,
    fields: str | None = None,
    name: str | None = None,
    user_id: Annotated[str | None, Parameter(query="userId")] = None,
    session_id: Annotated[str | None, Parameter(query="sessionId")] = None,
    type_: Annotated[str | None, Parameter(query="type")] = None,
    trace_id: Annotated[str | None, Parameter(query="traceId")] = None,
    level: str | None = None,
    parent_observation_id: Annotated[str | None, Parameter(query="parentObservationId")] = None,
    environment: list[str] | None = None,
    from_start_time: Annotated[datetime | None, Parameter(query="fromStartTime")] = None,
    to_start_time: Annotated[datetime | None, Parameter(query="toStartTime")] = None,
    version: str | None = None,
    is_root: Annotated[bool | None, Parameter(query="isRootObservation")] = None,
) -> dict[str, Any]:
    """Observations: pages (`page`, `limit` ≤ 100; ≤ 4.x SDKs) or, under /v2, a cursor with `fields`
    groups (`limit` ≤ 1,000; SDK 5.x)."""
    storage, project_id = _storage(request)
    by_cursor = request.url.path.endswith("/v2/observations")
    groups = [g.strip() for g in (fields or "core,basic").split(",") if g.strip()] if by_cursor else None
    unknown = set(groups or ()) - set(V2_GROUPS)
    if unknown:
        raise InvalidInput(
            f"fields: unknown group(s) {', '.join(sorted(unknown))}; use {', '.join(V2_GROUPS)}"
        )
    if not by_cursor and limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be at most {MAX_LIMIT}")
    f = _observation_filter(
        name,
        user_id,
        session_id,
        type_,
        trace_id,
        level,
        parent_observation_id,
        environment,
        version,
        is_root,
    )
    first = limit if by_cursor else _first_for(page, limit)
    req = oq.ObservationListRequest(
        project_id,
        TimeRange.resolve(from_start_time, to_start_time, names=("fromStartTime", "toStartTime")),
        f,
        first=first,
        after=cursor if by_cursor else None,
        with_io=groups is None or "io" in groups or "metadata" in groups,
    )
    if by_cursor:
        found = await oq.list_observations(storage.clickhouse, req, max_first=MAX_PAGED_ROWS)
        next_cursor = found.end_cursor if found.has_next else None
        data = [observation_json(o, project_id, groups) for o in found.items]
        return {"data": data, "meta": {"cursor": next_cursor}}
    found, total = await asyncio.gather(
        oq.list_observations(storage.clickhouse, req, max_first=MAX_PAGED_ROWS),
        oq.count_observations(storage.clickhouse, req),
    )
    shown = found.items[(page - 1) * limit :]
    return {"data": [observation_json(o, project_id) for o in shown], "meta": page_meta(page, limit, total)}


# --- sessions ----------------------------------------------------------------------------------------


@get("/sessions", opt=READ.opt)
async def list_sessions(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
    environment: list[str] | None = None,
) -> dict[str, Any]:
    storage, project_id = _storage(request)
    req = gq.GroupListRequest(
        project_id,
        "session_id",
        TimeRange.resolve(from_timestamp, to_timestamp, names=TIMESTAMP_PARAMS),
        gq.GroupFilter(environments=tuple(environment or ())),
        gq.GroupSort.FIRST_SEEN,
        first=_first_for(page, limit),
    )
    result = await gq.list_groups(storage.clickhouse, req)
    items = result.items[(page - 1) * limit :]
    total = result.total or 0
    return {"data": [session_json(g, project_id) for g in items], "meta": page_meta(page, limit, total)}


@get("/sessions/{session_id:str}", opt=READ.opt)
async def get_session(request: Request[Any, Any, State], session_id: str) -> dict[str, Any]:
    storage, project_id = _storage(request)
    found = await gq.fetch_group(storage.clickhouse, project_id, "session_id", session_id, lookup_range())
    if found is None:
        raise NotFound(f"session {session_id!r} not found")
    req = tq.TraceListRequest(
        project_id,
        TimeRange(found.first_seen - timedelta(minutes=1), found.last_seen + timedelta(minutes=1)),
        tq.TraceFilter(session_ids=(session_id,)),
        descending=False,
        first=MAX_LIMIT,
        with_io=True,
    )
    traces = await reads.list_traces(storage, req)
    return {**session_json(found, project_id), "traces": [trace_json(t, project_id) for t in traces.items]}


# --- scores ------------------------------------------------------------------------------------------


def _score_request(
    project_id: str,
    first: int,
    after: str | None,
    *,
    score_id: str | None,
    name: str | None,
    source: str | None,
    data_type: str | None,
    trace_id: str | None,
    session_id: str | None,
    observation_id: str | None,
    experiment_id: str | None,
    config_id: str | None,
    environment: list[str] | None,
    string_value: str | None,
    from_ts: datetime | None,
    to_ts: datetime | None,
    min_value: float | None,
    max_value: float | None,
) -> sq.ScoreListRequest:
    scoped = score_id or trace_id or session_id or observation_id or experiment_id
    time = (
        None
        if scoped and not (from_ts or to_ts)
        else TimeRange.resolve(from_ts, to_ts, names=TIMESTAMP_PARAMS)
    )
    f = sq.ScoreFilter(
        ids=_tuple(score_id),
        names=_tuple(name),
        sources=_tuple(source),
        data_types=_tuple(data_type),
        trace_ids=_tuple(trace_id),
        session_ids=_tuple(session_id),
        observation_ids=_tuple(observation_id),
        dataset_run_ids=_tuple(experiment_id),
        config_ids=_tuple(config_id),
        environments=tuple(environment or ()),
        string_values=_tuple(string_value),
        value=NumberRange(min_value, max_value) if min_value is not None or max_value is not None else None,
    )
    return sq.ScoreListRequest(project_id, time, f, first, after)


@get(["/v2/scores", "/v3/scores"], opt=READ.opt)
async def list_scores(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
    name: str | None = None,
    source: str | None = None,
    data_type: Annotated[str | None, Parameter(query="dataType")] = None,
    trace_id: Annotated[str | None, Parameter(query="traceId")] = None,
    session_id: Annotated[str | None, Parameter(query="sessionId")] = None,
    observation_id: Annotated[str | None, Parameter(query="observationId")] = None,
    config_id: Annotated[str | None, Parameter(query="configId")] = None,
    environment: list[str] | None = None,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
    min_value: Annotated[float | None, Parameter(query="minValue")] = None,
    max_value: Annotated[float | None, Parameter(query="maxValue")] = None,
    value_min: Annotated[float | None, Parameter(query="valueMin")] = None,
    value_max: Annotated[float | None, Parameter(query="valueMax")] = None,
    score_id: Annotated[str | None, Parameter(query="id")] = None,
    experiment_id: Annotated[str | None, Parameter(query="experimentId")] = None,
    value: str | None = None,
) -> dict[str, Any]:
    """Scores: v2 pages (`page`, `limit`; ≤ 4.x SDKs), v3 cursors (`cursor`, `limit`; SDK 5.x).
    v3 names the value range `valueMin`/`valueMax` (v2 `minValue`/`maxValue`); `value` matches a
    categorical or text value."""
    storage, project_id = _storage(request)
    by_cursor = request.url.path.endswith("/v3/scores")
    req = _score_request(
        project_id,
        limit if by_cursor else _first_for(page, limit),
        cursor if by_cursor else None,
        score_id=score_id,
        name=name,
        source=source,
        data_type=data_type,
        trace_id=trace_id,
        session_id=session_id,
        observation_id=observation_id,
        experiment_id=experiment_id,
        config_id=config_id,
        environment=environment,
        string_value=value,
        from_ts=from_timestamp,
        to_ts=to_timestamp,
        min_value=value_min if value_min is not None else min_value,
        max_value=value_max if value_max is not None else max_value,
    )
    if by_cursor:
        found = await sq.list_scores(storage.clickhouse, req)
        return {
            "data": [score_v3_json(s, project_id) for s in found.items],
            "meta": {"cursor": found.end_cursor if found.has_next else None, "limit": limit},
        }
    rows = await storage.clickhouse.query(sq.compile_score_list(req, max_first=MAX_PAGED_ROWS))
    items = [sq.score(r) for r in rows[: req.first]][(page - 1) * limit :]
    total = await sq.count_scores(storage.clickhouse, req)
    return {"data": [score_json(s, project_id) for s in items], "meta": page_meta(page, limit, total)}


READ_ROUTES = [
    get_observation_original,
    list_traces,
    get_trace,
    delete_trace,
    delete_traces,
    list_observations,
    get_observation,
    list_sessions,
    get_session,
    list_scores,
]
