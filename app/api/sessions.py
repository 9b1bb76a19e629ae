"""/api/public/sessions: list sessions (page-based), and read one with its traces."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta, rows_for_page
from app.api.shared import READ, TIMESTAMP_PARAMS, iso, project_scope
from app.api.traces import trace_json
from app.errors import NotFound
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TimeRange, lookup_range
from app.storage.clickhouse.queries.groups import GroupView
from app.tracing import trace_service


@get("/sessions", opt=READ.opt)
async def list_sessions(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
    environment: list[str] | None = None,
) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    req = gq.GroupListRequest(
        project_id,
        "session_id",
        TimeRange.resolve(from_timestamp, to_timestamp, names=TIMESTAMP_PARAMS),
        gq.GroupFilter(environments=tuple(environment or ())),
        gq.GroupSort.FIRST_SEEN,
        first=rows_for_page(page, limit),
    )
    result = await gq.list_groups(storage.clickhouse, req)
    items = result.items[(page - 1) * limit :]
    total = result.total or 0
    return {"data": [session_json(g, project_id) for g in items], "meta": page_meta(page, limit, total)}


@get("/sessions/{session_id:str}", opt=READ.opt)
async def get_session(request: Request[Any, Any, State], session_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
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
    traces = await trace_service.list_traces(storage, req)
    return {**session_json(found, project_id), "traces": [trace_json(t, project_id) for t in traces.items]}


def session_json(g: GroupView, project_id: str) -> dict[str, Any]:
    return {
        "id": g.id,
        "projectId": project_id,
        "createdAt": iso(g.first_seen),
        "environment": g.environments[0] if g.environments else "default",
    }


SESSION_ROUTES = [list_sessions, get_session]
