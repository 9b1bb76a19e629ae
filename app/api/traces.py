"""/api/public/traces: list (page-based), read (with observations and scores) and delete traces."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, delete, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.observations import observation_json
from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta, rows_for_page
from app.api.scores import score_json
from app.api.shared import READ, TIMESTAMP_PARAMS, iso, optional, project_scope
from app.errors import InvalidInput, NotFound
from app.http_json import ApiDoc, json_body
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TagFilter, TagMatch, TimeRange
from app.storage.clickhouse.queries.views import TraceView, json_or_text
from app.tracing import trace_service


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
            user_ids=optional(user_id),
            names=optional(name),
            session_ids=optional(session_id),
            tags=TagFilter(tuple(tags), TagMatch.ALL) if tags else None,
            versions=optional(version),
            releases=optional(release),
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
    storage, project_id = project_scope(request)
    req = _trace_request(
        project_id,
        rows_for_page(page, limit),
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
        trace_service.list_traces(storage, req), tq.count_traces(storage.clickhouse, req)
    )
    items = result.items[(page - 1) * limit :]
    scores = await trace_service.score_ids(storage, project_id, [t.id for t in items])
    data = []
    for t in items:
        body = trace_json(t, project_id)
        body["observations"], body["scores"] = t.observation_ids or [], scores[t.id]
        data.append(body)
    return {"data": data, "meta": page_meta(page, limit, total)}


@get("/traces/{trace_id:str}", opt=READ.opt)
async def get_trace(request: Request[Any, Any, State], trace_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    detail = await trace_service.trace_detail(storage, project_id, trace_id)
    body = trace_json(detail.trace, project_id)
    body["observations"] = [observation_json(o, project_id) for o in detail.observations]
    body["scores"] = [score_json(s, project_id) for s in detail.scores]
    return body


@delete("/traces/{trace_id:str}", status_code=200)
async def delete_trace(request: Request[Any, Any, State], trace_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    if not await trace_service.delete_traces(storage, project_id, [trace_id]):
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
    storage, project_id = project_scope(request)
    body = await json_body(request)
    ids = body.get("traceIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("traceIds must be a list of trace ids")
    await trace_service.delete_traces(storage, project_id, ids)
    return {"message": "Traces deleted successfully"}


def trace_json(t: TraceView, project_id: str) -> dict[str, Any]:
    tot = t.totals
    return {
        "id": t.id,
        "projectId": project_id,
        "timestamp": iso(t.timestamp),
        "name": t.name,
        "input": json_or_text(t.input),
        "output": json_or_text(t.output),
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


TRACE_ROUTES = [list_traces, get_trace, delete_trace, delete_traces]
