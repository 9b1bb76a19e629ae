"""Query fields over users (the user ids sent with traces): a list and one user."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.queries.group import group_page, one_group
from app.graphql.types import group as g
from app.graphql.types.common import SortDirection, TimeRangeInput
from app.graphql.types.pagination import connection


@strawberry.type
class UserQueryMixin:
    @strawberry.field(description="Users active in the time range (default: last 24 hours).")
    async def users(
        self,
        info: Info[Context, None],
        filter: g.GroupFilterInput | None = None,
        sort: g.GroupSortField = g.GroupSortField.LAST_SEEN,
        direction: SortDirection = SortDirection.DESC,
        first: int | None = None,
        after: str | None = None,
    ) -> g.UserConnection:
        page, time, cursor = await group_page(info, "user_id", filter, sort, direction, first, after)
        return connection(g.UserConnection, g.UserEdge, page, lambda v: g.User.from_view(v, time), cursor)

    @strawberry.field(description="One user (default window: the last 90 days).")
    async def user(
        self, info: Info[Context, None], id: strawberry.ID, time_range: TimeRangeInput | None = None
    ) -> g.User | None:
        view, time = await one_group(info, "user_id", str(id), time_range)
        return None if view is None else g.User.from_view(view, time)
