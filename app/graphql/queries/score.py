"""Query fields over scores: a list."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types import score as s
from app.graphql.types.common import time_range as resolve_time
from app.graphql.types.pagination import connection
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import Cursor, page_size


@strawberry.type
class ScoreQueryMixin:
    @strawberry.field(
        description="Scores, newest first; the last 24 hours unless a time range or ids are given."
    )
    async def scores(
        self,
        info: Info[Context, None],
        filter: s.ScoreFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> s.ScoreConnection:
        caller = info.context.require()
        f = s.score_filter(filter)
        scoped = f.trace_ids or f.session_ids or f.observation_ids
        time = (
            None
            if scoped and not (filter and filter.time_range)
            else resolve_time(filter.time_range if filter else None, "filter.timeRange")
        )
        req = sq.ScoreListRequest(caller.project_id, time, f, page_size(first), after)
        page = await sq.list_scores(info.context.storage.clickhouse, req)
        return connection(
            s.ScoreConnection,
            s.ScoreEdge,
            page,
            s.Score.from_view,
            lambda v: Cursor(sq.SORT, int(v.timestamp.timestamp() * 1_000_000), v.id).encode(),
        )
