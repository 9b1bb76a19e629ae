"""Users: the list (traces grouped by user id) and one user's usage and traces."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from app.analytics.usage import user_usage
from app.dashboards import figures
from app.dashboards.deps import UiSession, page
from app.dashboards.params import PAGE, RANGES, time_range
from app.dashboards.session_pages import group_list
from app.storage import Storage
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import traces as tq
from app.tracing import trace_service


@get("/users")
async def users_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    return await group_list(request, session, storage, "user_id", "users.html")


@get("/users/{user_id:str}")
async def user_page(session: UiSession, storage: Storage, user_id: str, range: str | None = None) -> Template:
    project_id = session.caller.project_id
    key, time = time_range(range or "30d")
    found = await gq.fetch_group(storage.clickhouse, project_id, "user_id", user_id, time)
    usage = await user_usage(storage.clickhouse, project_id, user_id, time)
    req = tq.TraceListRequest(project_id, time, tq.TraceFilter(user_ids=(user_id,)), first=PAGE)
    traces = (await trace_service.list_traces(storage, req)).items
    return page(
        session,
        "user.html",
        user_id=user_id,
        found=found,
        charts=figures.usage_charts(usage),
        traces=traces,
        range=key,
        ranges=list(RANGES),
    )


USER_ROUTES = [users_page, user_page]
