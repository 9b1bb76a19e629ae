"""Query fields over sessions: a list and one session."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.queries.group import group_page, one_group
from app.graphql.types import group as g
from app.graphql.types.common import SortDirection, TimeRangeInput
from app.graphql.types.pagination import connection


@strawberry.type
class SessionQueryMixin:
    @strawberry.field(description="Sessions active in the time range (default: last 24 hours).")
    async def sessions(
        self,
        info: Info[Context, None],
        filter: g.GroupFilterInput | None = None,
        sort: g.GroupSortField = g.GroupSortField.LAST_SEEN,
        direction: SortDirection = SortDirection.DESC,
        first: int | None = None,
        after: str | None = None,
    ) -> g.SessionConnection:
        page, time, cursor = await group_page(info, "session_id", filter, sort, direction, first, after)
        return connection(
            g.SessionConnection, g.SessionEdge, page, lambda v: g.Session.from_view(v, time), cursor
        )

    @strawberry.field(description="One session (default window: the last 90 days).")
    async def session(
        self, info: Info[Context, None], id: strawberry.ID, time_range: TimeRangeInput | None = None
    ) -> g.Session | None:
        view, time = await one_group(info, "session_id", str(id), time_range)
        return None if view is None else g.Session.from_view(view, time)
