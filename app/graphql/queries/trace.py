"""Query fields over traces: a list and one trace."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types import trace as t
from app.graphql.types.common import SortDirection, TimeRangeInput, selects_any
from app.graphql.types.common import time_range as resolve_time
from app.graphql.types.pagination import connection
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import Cursor, page_size
from app.tracing import trace_service

IO_FIELDS = {"input", "output"}


@strawberry.type
class TraceQueryMixin:
    @strawberry.field(
        description="Traces, newest first by default; the last 24 hours unless a time range is given."
    )
    async def traces(
        self,
        info: Info[Context, None],
        filter: t.TraceFilterInput | None = None,
        time_range: TimeRangeInput | None = None,
        sort: t.TraceSortField = t.TraceSortField.TIMESTAMP,
        direction: SortDirection = SortDirection.DESC,
        first: int | None = None,
        after: str | None = None,
    ) -> t.TraceConnection:
        caller = info.context.require()
        sort_key = tq.TraceSort(sort.value)
        req = tq.TraceListRequest(
            caller.project_id,
            resolve_time(time_range),
            t.trace_filter(filter),
            sort_key,
            direction is SortDirection.DESC,
            page_size(first),
            after,
            with_io=selects_any(info.selected_fields, IO_FIELDS),
        )
        page = await trace_service.list_traces(
            info.context.storage, req, bookmarked=bool(filter and filter.bookmarked)
        )
        return connection(
            t.TraceConnection,
            t.TraceEdge,
            page,
            t.Trace.from_view,
            lambda v: Cursor(sort_key.value, tq.cursor_value(sort_key, v), v.id).encode(),
        )

    @strawberry.field(description="One trace by id, with its tree, timeline, totals and scores.")
    async def trace(self, info: Info[Context, None], id: strawberry.ID) -> t.Trace | None:
        caller = info.context.require()
        view = await trace_service.fetch_trace(info.context.storage, caller.project_id, str(id))
        return None if view is None else t.Trace.from_view(view)
