"""Langfuse-compatible REST reads (langfuse-api.md §3, §7) through the same query layer as GraphQL.

Page-based lists (≤ 4.x SDKs) read `page * limit` rows by keyset and return the last `limit`, so no
query uses OFFSET; cursor lists (v2 observations, v3 scores) pass the query layer's cursor along.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, page_meta
from app.errors import InvalidInput, NotFound
from app.http_json import json_body
from app.storage import Storage
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import (
    Cursor,
    NumberRange,
    TagFilter,
    TagMatch,
    TimeRange,
    lookup_range,
)
from app.storage.clickhouse.queries.rows import ObservationView, ScoreView, TraceView
from app.storage.postgres import notes
from app.tracing import comments, reads

MAX_PAGED_ROWS = 10_000
MAX_V2_LIMIT = 1_000


def _storage(request: Request[Any, Any, State]) -> tuple[Storage, str]:
    return request.app.state.storage, request.state.caller.project_id


def _first_for(page: int, limit: int) -> int:
    if page * limit > MAX_PAGED_ROWS:
        raise InvalidInput(f"page * limit may be at most {MAX_PAGED_ROWS}; narrow the time range instead")
    return page * limit


def _tuple(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _io(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def observation_json(
    o: ObservationView, project_id: str, groups: Sequence[str] | None = None
) -> dict[str, Any]:
    """An observation in the Langfuse shape; `groups` (v2 `fields`) picks field groups, None all."""
    usage = o.usage_details
    out: dict[str, Any] = {
        "id": o.id,
        "traceId": o.trace_id,
        "startTime": _iso(o.start_time),
        "endTime": _iso(o.end_time),
        "projectId": project_id,
        "parentObservationId": o.parent_observation_id,
        "type": o.type,
    }
    chosen = set(groups) if groups is not None else None

    def want(group: str) -> bool:
        return chosen is None or group in chosen

    if want("basic"):
        out |= {
            "name": o.name,
            "level": o.level,
            "statusMessage": o.status_message,
            "version": o.version,
            "environment": o.environment,
            "userId": o.user_id,
            "sessionId": o.session_id,
            "isRootObservation": o.parent_observation_id is None,
        }
    if want("time"):
        out |= {"completionStartTime": _iso(o.completion_start_time)}
    if want("io"):
        out |= {"input": _io(o.input), "output": _io(o.output)}
    if want("metadata"):
        out |= {"metadata": o.metadata}
    if want("model"):
        out |= {
            "model": o.model,
            "internalModelId": o.internal_model_id,
            "modelParameters": _io(o.model_parameters),
        }
    if want("usage"):
        costs = {k: float(v) for k, v in o.cost_details.items()}
        out |= {
            "usageDetails": usage,
            "costDetails": costs,
            "totalCost": _num(o.total_cost),
            "usage": {
                "input": usage.get("input", 0),
                "output": usage.get("output", 0),
                "total": usage.get("total", 0),
                "unit": "TOKENS",
            },
            "calculatedTotalCost": _num(o.total_cost),
            "calculatedInputCost": costs.get("input"),
            "calculatedOutputCost": costs.get("output"),
        }
    if want("prompt"):
        out |= {"promptId": None, "promptName": o.prompt_name, "promptVersion": o.prompt_version}
    if want("metrics"):
        ttft = None
        if o.completion_start_time is not None:
            ttft = (o.completion_start_time - o.start_time).total_seconds()
        out |= {"latency": None if o.latency_ms is None else o.latency_ms / 1000, "timeToFirstToken": ttft}
    if want("trace_context"):
        out |= {"tags": o.tags, "release": o.release, "traceName": o.trace_name}
    return out


def score_json(s: ScoreView, project_id: str) -> dict[str, Any]:
    value: Any = s.string_value if s.data_type in ("CATEGORICAL", "TEXT") else s.value
    return {
        "id": s.id,
        "projectId": project_id,
        "traceId": s.trace_id,
        "observationId": s.observation_id,
        "sessionId": s.session_id,
        "datasetRunId": s.dataset_run_id,
        "name": s.name,
        "value": value,
        "stringValue": s.string_value,
        "dataType": s.data_type,
        "source": s.source,
        "comment": s.comment,
        "configId": s.config_id,
        "queueId": s.queue_id,
        "authorUserId": s.author_user_id,
        "environment": s.environment,
        "metadata": s.metadata,
        "timestamp": _iso(s.timestamp),
        "createdAt": _iso(s.created_at),
        "updatedAt": _iso(s.updated_at),
    }


def trace_json(t: TraceView, project_id: str) -> dict[str, Any]:
    tot = t.totals
    return {
        "id": t.id,
        "projectId": project_id,
        "timestamp": _iso(t.timestamp),
        "name": t.name,
        "input": _io(t.input),
        "output": _io(t.output),
        "sessionId": t.session_id,
        "release": t.release,
        "version": t.version,
        "userId": t.user_id,
        "metadata": t.metadata,
        "tags": t.tags,
        "public": t.public,
        "bookmarked": t.bookmarked,
        "environment": t.environment,
        "htmlPath": f"/project/{project_id}/traces/{t.id}",
        "latency": None if tot.latency_ms is None else tot.latency_ms / 1000,
        "totalCost": float(tot.total_cost),
    }


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
        TimeRange.resolve(from_ts, to_ts),
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


@get("/traces")
async def list_traces(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1)] = 1,
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
    result = await reads.list_traces(storage, req)
    items = result.items[(page - 1) * limit :]
    total = await tq.count_traces(storage.clickhouse, req)
    data = []
    for t in items:
        body = trace_json(t, project_id)
        body["observations"], body["scores"] = [], []
        data.append(body)
    return {"data": data, "meta": page_meta(page, limit, total)}


@get("/traces/{trace_id:str}")
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


@delete("/traces", status_code=200)
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
    )


@get("/observations/{observation_id:str}")
async def get_observation(request: Request[Any, Any, State], observation_id: str) -> dict[str, Any]:
    storage, project_id = _storage(request)
    found = await oq.fetch_observation(storage.clickhouse, project_id, observation_id)
    if found is None:
        raise NotFound(f"observation {observation_id!r} not found")
    return observation_json(found, project_id)


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


@get(["/observations", "/v2/observations"])
async def list_observations(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1)] = 1,
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
        name, user_id, session_id, type_, trace_id, level, parent_observation_id, environment, version
    )
    first = limit if by_cursor else _first_for(page, limit)
    req = oq.ObservationListRequest(
        project_id,
        TimeRange.resolve(from_start_time, to_start_time),
        f,
        first=first,
        after=cursor if by_cursor else None,
        with_io=groups is None or "io" in groups or "metadata" in groups,
    )
    rows = await storage.clickhouse.query(oq.compile_observation_list(req, max_first=MAX_PAGED_ROWS))
    items = [oq.observation(r) for r in rows[:first]]
    if not by_cursor:
        total = await oq.count_observations(storage.clickhouse, req)
        shown = items[(page - 1) * limit :]
        return {
            "data": [observation_json(o, project_id) for o in shown],
            "meta": page_meta(page, limit, total),
        }
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = Cursor(req.sort.value, oq.cursor_value(req.sort, last), last.id).encode()
    return {"data": [observation_json(o, project_id, groups) for o in items], "meta": {"cursor": next_cursor}}


# --- sessions ----------------------------------------------------------------------------------------


def session_json(g: gq.GroupView, project_id: str) -> dict[str, Any]:
    return {
        "id": g.id,
        "projectId": project_id,
        "createdAt": _iso(g.first_seen),
        "environment": g.environments[0] if g.environments else "default",
    }


@get("/sessions")
async def list_sessions(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
    environment: list[str] | None = None,
) -> dict[str, Any]:
    storage, project_id = _storage(request)
    req = gq.GroupListRequest(
        project_id,
        "session_id",
        TimeRange.resolve(from_timestamp, to_timestamp),
        gq.GroupFilter(environments=tuple(environment or ())),
        gq.GroupSort.FIRST_SEEN,
        first=_first_for(page, limit),
    )
    result = await gq.list_groups(storage.clickhouse, req)
    total = await gq.count_groups(storage.clickhouse, req)
    items = result.items[(page - 1) * limit :]
    return {"data": [session_json(g, project_id) for g in items], "meta": page_meta(page, limit, total)}


@get("/sessions/{session_id:str}")
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
    name: str | None,
    source: str | None,
    data_type: str | None,
    trace_id: str | None,
    session_id: str | None,
    observation_id: str | None,
    config_id: str | None,
    environment: list[str] | None,
    from_ts: datetime | None,
    to_ts: datetime | None,
    min_value: float | None,
    max_value: float | None,
) -> sq.ScoreListRequest:
    scoped = trace_id or session_id or observation_id
    time = None if scoped and not (from_ts or to_ts) else TimeRange.resolve(from_ts, to_ts)
    f = sq.ScoreFilter(
        names=_tuple(name),
        sources=_tuple(source),
        data_types=_tuple(data_type),
        trace_ids=_tuple(trace_id),
        session_ids=_tuple(session_id),
        observation_ids=_tuple(observation_id),
        config_ids=_tuple(config_id),
        environments=tuple(environment or ()),
        value=NumberRange(min_value, max_value) if min_value is not None or max_value is not None else None,
    )
    return sq.ScoreListRequest(project_id, time, f, first, after)


@get(["/v2/scores", "/v3/scores"])
async def list_scores(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1)] = 1,
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
) -> dict[str, Any]:
    """Scores: v2 pages (`page`, `limit`; ≤ 4.x SDKs), v3 cursors (`cursor`, `limit`; SDK 5.x)."""
    storage, project_id = _storage(request)
    by_cursor = request.url.path.endswith("/v3/scores")
    req = _score_request(
        project_id,
        limit if by_cursor else _first_for(page, limit),
        cursor if by_cursor else None,
        name=name,
        source=source,
        data_type=data_type,
        trace_id=trace_id,
        session_id=session_id,
        observation_id=observation_id,
        config_id=config_id,
        environment=environment,
        from_ts=from_timestamp,
        to_ts=to_timestamp,
        min_value=min_value,
        max_value=max_value,
    )
    if by_cursor:
        found = await sq.list_scores(storage.clickhouse, req)
        return {
            "data": [score_json(s, project_id) for s in found.items],
            "meta": {"cursor": found.end_cursor if found.has_next else None, "limit": limit},
        }
    rows = await storage.clickhouse.query(sq.compile_score_list(req, max_first=MAX_PAGED_ROWS))
    items = [sq.score(r) for r in rows[: req.first]][(page - 1) * limit :]
    total = await sq.count_scores(storage.clickhouse, req)
    return {"data": [score_json(s, project_id) for s in items], "meta": page_meta(page, limit, total)}


# --- metrics -----------------------------------------------------------------------------------------

_DAILY = (
    mq.MetricSpec(mq.Measure.COUNT, mq.Aggregation.COUNT),
    mq.MetricSpec(mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.INPUT_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.OUTPUT_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
)


@get("/metrics/daily")
async def metrics_daily(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    trace_name: Annotated[str | None, Parameter(query="traceName")] = None,
    user_id: Annotated[str | None, Parameter(query="userId")] = None,
    tags: list[str] | None = None,
    environment: list[str] | None = None,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
) -> dict[str, Any]:
    """Per day (newest first): traces, observations, cost, and usage per model (Langfuse's shape)."""
    storage, project_id = _storage(request)
    end = to_timestamp or datetime.now(UTC)
    start = from_timestamp or (end - timedelta(days=page * limit))
    filters = [
        mq.DimensionFilter(d, tuple(v))
        for d, v in (
            (mq.Dimension.TRACE_NAME, _tuple(trace_name)),
            (mq.Dimension.USER, _tuple(user_id)),
            (mq.Dimension.TAG, tuple(tags or ())),
            (mq.Dimension.ENVIRONMENT, tuple(environment or ())),
        )
        if v
    ]
    time, daily = TimeRange.resolve(start, end), mq.Granularity.DAY
    by_model = await mq.run_metrics(
        storage.clickhouse,
        mq.MetricsRequest(
            project_id,
            mq.View.OBSERVATIONS,
            _DAILY,
            time,
            (mq.Dimension.MODEL,),
            tuple(filters),
            daily,
            False,
        ),
    )
    unique_traces = (mq.MetricSpec(mq.Measure.TRACES, mq.Aggregation.UNIQ),)
    traces = await mq.run_metrics(
        storage.clickhouse,
        mq.MetricsRequest(
            project_id, mq.View.OBSERVATIONS, unique_traces, time, (), tuple(filters), daily, False
        ),
    )
    days: dict[date, dict[str, Any]] = {}
    for r in traces.rows:
        days[r["time"].date()] = {
            "date": r["time"].date().isoformat(),
            "countTraces": r["traces_uniq"],
            "countObservations": 0,
            "totalCost": 0.0,
            "usage": [],
        }
    for r in by_model.rows:
        day = days.setdefault(
            r["time"].date(),
            {
                "date": r["time"].date().isoformat(),
                "countTraces": 0,
                "countObservations": 0,
                "totalCost": 0.0,
                "usage": [],
            },
        )
        day["countObservations"] += r["count_count"]
        day["totalCost"] += r["total_cost_sum"] or 0.0
        day["usage"].append(
            {
                "model": r["model"] or None,
                "inputUsage": r["input_tokens_sum"],
                "outputUsage": r["output_tokens_sum"],
                "totalUsage": r["total_tokens_sum"],
                "countTraces": None,
                "countObservations": r["count_count"],
                "totalCost": r["total_cost_sum"],
            }
        )
    ordered = [d for _, d in sorted(days.items(), reverse=True) if d["countTraces"] or d["countObservations"]]
    items = ordered[(page - 1) * limit : page * limit]
    return {"data": items, "meta": page_meta(page, limit, len(ordered))}


@get("/v2/metrics")
async def metrics_v2(
    request: Request[Any, Any, State], query_json: Annotated[str, Parameter(query="query")]
) -> dict[str, Any]:
    """`query` is JSON: {view, metrics: [{measure, aggregation}], dimensions: [{field}], filters:
    [{column, operator: "any of"|"=", value}], timeDimension: {granularity}, fromTimestamp, toTimestamp}."""
    storage, project_id = _storage(request)
    req = metrics_request(project_id, query_json)
    result = await mq.run_metrics(storage.clickhouse, req)
    return {
        "data": [{k: (_iso(v) if isinstance(v, datetime) else v) for k, v in r.items()} for r in result.rows]
    }


_V2_NAMES = {
    "observations": mq.View.OBSERVATIONS,
    "traces": mq.View.TRACES,
    "scores-numeric": mq.View.SCORES,
    "scores-categorical": mq.View.SCORES,
    "scores": mq.View.SCORES,
}


def metrics_request(project_id: str, text: str) -> mq.MetricsRequest:
    """Parse a v2 metrics query (Langfuse's JSON names, or ours) into a MetricsRequest."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidInput("query must be JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("query must be a JSON object")

    def enum(kind: type[Any], value: Any, where: str) -> Any:
        key = str(value).upper().replace("-", "_")
        aliases = {
            "TOTALCOST": "TOTAL_COST",
            "INPUTTOKENS": "INPUT_TOKENS",
            "OUTPUTTOKENS": "OUTPUT_TOKENS",
            "TOTALTOKENS": "TOTAL_TOKENS",
            "USERID": "USER",
            "SESSIONID": "SESSION",
            "PROVIDEDMODELNAME": "MODEL",
            "TRACENAME": "TRACE_NAME",
            "TAGS": "TAG",
            "PROMPTNAME": "PROMPT_NAME",
            "LATENCY_MS": "LATENCY",
            "COUNT": "COUNT",
        }
        key = aliases.get(key.replace("_", ""), key)
        try:
            return kind(key)
        except ValueError as exc:
            raise InvalidInput(f"{where}: unknown value {value!r}") from exc

    view_name = str(doc.get("view", "")).lower()
    view = _V2_NAMES.get(view_name) or enum(mq.View, view_name, "view")
    metrics = tuple(
        mq.MetricSpec(
            enum(mq.Measure, m.get("measure"), "metrics.measure"),
            enum(mq.Aggregation, m.get("aggregation"), "metrics.aggregation"),
        )
        for m in doc.get("metrics") or []
        if isinstance(m, dict)
    )
    dimensions = tuple(
        enum(mq.Dimension, d.get("field") if isinstance(d, dict) else d, "dimensions")
        for d in doc.get("dimensions") or []
    )
    filters = []
    for f in doc.get("filters") or []:
        if not isinstance(f, dict):
            raise InvalidInput("filters: each filter must be an object")
        value = f.get("value")
        values = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
        filters.append(mq.DimensionFilter(enum(mq.Dimension, f.get("column"), "filters.column"), values))
    granularity = (
        (doc.get("timeDimension") or {}).get("granularity")
        if isinstance(doc.get("timeDimension"), dict)
        else None
    )
    time = TimeRange.resolve(_parse_time(doc.get("fromTimestamp")), _parse_time(doc.get("toTimestamp")))
    return mq.MetricsRequest(
        project_id,
        view,
        metrics,
        time,
        dimensions,
        tuple(filters),
        enum(mq.Granularity, granularity, "timeDimension.granularity") if granularity else None,
        fill_gaps=False,
        limit=min(int(doc.get("limit") or 1000), mq.MAX_ROWS),
    )


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"not an ISO 8601 time: {value!r}") from exc


# --- comments ----------------------------------------------------------------------------------------


@post("/comments", status_code=200)
async def create_comment(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage, project_id = _storage(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    comment = await comments.create(
        storage,
        project_id,
        body.get("objectType"),
        body.get("objectId"),
        body.get("content"),
        body.get("authorUserId") if isinstance(body.get("authorUserId"), str) else None,
    )
    return {"id": comment.id}


@get("/comments")
async def list_comments(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    object_type: Annotated[str | None, Parameter(query="objectType")] = None,
    object_id: Annotated[str | None, Parameter(query="objectId")] = None,
    author_user_id: Annotated[str | None, Parameter(query="authorUserId")] = None,
) -> dict[str, Any]:
    storage, project_id = _storage(request)
    rows, total = await notes.list_comments(
        storage.postgres,
        project_id,
        object_type=object_type,
        object_id=object_id,
        author_user_id=author_user_id,
        limit=limit,
        offset=(page - 1) * limit,
    )
    return {"data": [comments.to_api(c) for c in rows], "meta": page_meta(page, limit, total)}


@get("/comments/{comment_id:str}")
async def get_comment(request: Request[Any, Any, State], comment_id: str) -> dict[str, Any]:
    storage, project_id = _storage(request)
    found = await notes.fetch_comment(storage.postgres, project_id, comment_id)
    if found is None:
        raise NotFound(f"comment {comment_id!r} not found")
    return comments.to_api(found)


READ_ROUTES = [
    list_traces,
    get_trace,
    delete_trace,
    delete_traces,
    list_observations,
    get_observation,
    list_sessions,
    get_session,
    list_scores,
    metrics_daily,
    metrics_v2,
    create_comment,
    list_comments,
    get_comment,
]
