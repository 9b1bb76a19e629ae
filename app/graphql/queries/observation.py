"""Query fields over observations: a list and one observation."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types import observation as o
from app.graphql.types.common import SortDirection
from app.graphql.types.common import time_range as resolve_time
from app.graphql.types.pagination import connection
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.common import Cursor, page_size


@strawberry.type
class ObservationQueryMixin:
    @strawberry.field(
        description="Observations, newest first by default; the last 24 hours unless a time range is given."
    )
    async def observations(
        self,
        info: Info[Context, None],
        filter: o.ObservationFilterInput | None = None,
        sort: o.ObservationSortField = o.ObservationSortField.START_TIME,
        direction: SortDirection = SortDirection.DESC,
        first: int | None = None,
        after: str | None = None,
    ) -> o.ObservationConnection:
        caller = info.context.require()
        sort_key = oq.ObservationSort(sort.value)
        req = oq.ObservationListRequest(
            caller.project_id,
            resolve_time(filter.time_range if filter else None, "filter.timeRange"),
            o.observation_filter(filter),
            sort_key,
            direction is SortDirection.DESC,
            page_size(first),
            after,
        )
        page = await oq.list_observations(info.context.storage.clickhouse, req)
        return connection(
            o.ObservationConnection,
            o.ObservationEdge,
            page,
            o.Observation.from_view,
            lambda v: Cursor(sort_key.value, oq.cursor_value(sort_key, v), v.id).encode(),
        )

    @strawberry.field(description="One observation by id, with full input, output and metadata.")
    async def observation(self, info: Info[Context, None], id: strawberry.ID) -> o.Observation | None:
        caller = info.context.require()
        view = await oq.fetch_observation(info.context.storage.clickhouse, caller.project_id, str(id))
        return None if view is None else o.Observation.from_view(view)
