"""The home dashboard: a project's totals and charts over a time range (app.analytics.overview)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from app.analytics.overview import project_overview
from app.dashboards import figures
from app.dashboards.deps import UiSession, page
from app.dashboards.params import RANGES, time_range
from app.storage import Storage


@get(["/", "/dashboard"])
async def dashboard(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    range: str | None = None,
    environment: str | None = None,
) -> Template:
    key, time = time_range(range, request)
    overview = await project_overview(storage.clickhouse, session.caller.project_id, time, environment)
    return page(
        session,
        "dashboard.html",
        range=key,
        ranges=list(RANGES),
        environment=environment or "",
        request_from=request.query_params.get("from", ""),
        request_to=request.query_params.get("to", ""),
        totals=overview.totals,
        charts=figures.overview_charts(overview),
        top_users=overview.top_users,
        top_names=overview.top_trace_names,
        score_summaries=overview.score_summaries,
        base_url=str(request.base_url).rstrip("/"),
    )


HOME_ROUTES = [dashboard]
