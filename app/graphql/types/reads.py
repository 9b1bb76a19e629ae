"""Query and mutation fields over traces, observations, sessions, users, scores and metrics.

Resolvers only translate: arguments → a typed request → one domain or storage call → types.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from app.auth.caller import Caller
from app.graphql.context import Context
from app.graphql.types import annotation as a
from app.graphql.types import group as g
from app.graphql.types import metrics as mt
from app.graphql.types import observation as o
from app.graphql.types import score as s
from app.graphql.types import trace as t
from app.graphql.types.common import PageInfo, SortDirection, TimeRangeInput, as_json, selects_any
from app.graphql.types.common import time_range as resolve_time
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import Cursor, TimeRange, lookup_range, page_size
from app.storage.postgres import score_configs as config_repo
from app.storage.postgres.models import Role
from app.tracing import comments, reads, score_configs, scores

IO_FIELDS = {"input", "output"}


def _page(has_next: bool, end: str | None) -> PageInfo:
    return PageInfo(has_next_page=has_next, end_cursor=end)


def _lookup(value: TimeRangeInput | None) -> TimeRange:
    """Single session/user reads: the given range, else the last 90 days."""
    if value is None or (value.from_ is None and value.to is None):
        return lookup_range()
    return resolve_time(value)


@strawberry.type
class ReadQuery:
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
        page = await reads.list_traces(
            info.context.storage, req, bookmarked=bool(filter and filter.bookmarked)
        )
        edges = [
            t.TraceEdge(
                node=t.Trace.from_view(v),
                cursor=Cursor(sort_key.value, tq.cursor_value(sort_key, v), v.id).encode(),
            )
            for v in page.items
        ]
        return t.TraceConnection(edges=edges, page_info=_page(page.has_next, page.end_cursor))

    @strawberry.field(description="One trace by id, with its tree, timeline, totals and scores.")
    async def trace(self, info: Info[Context, None], id: strawberry.ID) -> t.Trace | None:
        caller = info.context.require()
        view = await reads.fetch_trace(info.context.storage, caller.project_id, str(id))
        return None if view is None else t.Trace.from_view(view)

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
        edges = [
            o.ObservationEdge(
                node=o.Observation.from_view(v),
                cursor=Cursor(sort_key.value, oq.cursor_value(sort_key, v), v.id).encode(),
            )
            for v in page.items
        ]
        return o.ObservationConnection(edges=edges, page_info=_page(page.has_next, page.end_cursor))

    @strawberry.field(description="One observation by id, with full input, output and metadata.")
    async def observation(self, info: Info[Context, None], id: strawberry.ID) -> o.Observation | None:
        caller = info.context.require()
        view = await oq.fetch_observation(info.context.storage.clickhouse, caller.project_id, str(id))
        return None if view is None else o.Observation.from_view(view)

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
        page, time, sort_key = await _groups(info, "session_id", filter, sort, direction, first, after)
        edges = [
            g.SessionEdge(node=g.Session.from_view(v, time), cursor=_group_cursor(sort_key, v))
            for v in page.items
        ]
        return g.SessionConnection(edges=edges, page_info=_page(page.has_next, page.end_cursor))

    @strawberry.field(description="One session (default window: the last 90 days).")
    async def session(
        self, info: Info[Context, None], id: strawberry.ID, time_range: TimeRangeInput | None = None
    ) -> g.Session | None:
        caller = info.context.require()
        time = _lookup(time_range)
        view = await gq.fetch_group(
            info.context.storage.clickhouse, caller.project_id, "session_id", str(id), time
        )
        return None if view is None else g.Session.from_view(view, time)

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
        page, time, sort_key = await _groups(info, "user_id", filter, sort, direction, first, after)
        edges = [
            g.UserEdge(node=g.User.from_view(v, time), cursor=_group_cursor(sort_key, v)) for v in page.items
        ]
        return g.UserConnection(edges=edges, page_info=_page(page.has_next, page.end_cursor))

    @strawberry.field(description="One user (default window: the last 90 days).")
    async def user(
        self, info: Info[Context, None], id: strawberry.ID, time_range: TimeRangeInput | None = None
    ) -> g.User | None:
        caller = info.context.require()
        time = _lookup(time_range)
        view = await gq.fetch_group(
            info.context.storage.clickhouse, caller.project_id, "user_id", str(id), time
        )
        return None if view is None else g.User.from_view(view, time)

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
        edges = [
            s.ScoreEdge(
                node=s.Score.from_view(v),
                cursor=Cursor(sq.SORT, int(v.timestamp.timestamp() * 1_000_000), v.id).encode(),
            )
            for v in page.items
        ]
        return s.ScoreConnection(edges=edges, page_info=_page(page.has_next, page.end_cursor))

    @strawberry.field(description="The project's score configs, newest first.")
    async def score_configs(
        self, info: Info[Context, None], include_archived: bool = True
    ) -> list[a.ScoreConfig]:
        caller = info.context.require()
        rows = await config_repo.list_score_configs(info.context.storage.postgres, caller.project_id, 1000, 0)
        return [a.ScoreConfig.from_row(c) for c in rows if include_archived or not c.is_archived]

    @strawberry.field(description="Aggregate observations, traces or scores by time and dimensions.")
    async def metrics(self, info: Info[Context, None], query: mt.MetricsQueryInput) -> mt.MetricsResult:
        caller = info.context.require()
        req = mq.MetricsRequest(
            caller.project_id,
            query.view,
            tuple(mq.MetricSpec(x.measure, x.aggregation) for x in query.metrics),
            resolve_time(query.time_range, "query.timeRange"),
            tuple(query.dimensions),
            tuple(mq.DimensionFilter(f.dimension, tuple(f.values)) for f in query.filters),
            query.granularity,
            query.fill_gaps,
            query.limit,
        )
        result = await mq.run_metrics(info.context.storage.clickhouse, req)
        return mt.MetricsResult(
            columns=result.columns,
            rows=as_json(mt.rows_json(result.rows)),
            served_from=result.served_from,
            granularity=result.granularity,
        )


async def _groups(
    info: Info[Context, None],
    key: gq.GroupKey,
    filter: g.GroupFilterInput | None,
    sort: g.GroupSortField,
    direction: SortDirection,
    first: int | None,
    after: str | None,
) -> tuple[Any, TimeRange, gq.GroupSort]:
    caller = info.context.require()
    time = resolve_time(filter.time_range if filter else None, "filter.timeRange")
    sort_key = gq.GroupSort(sort.value)
    req = gq.GroupListRequest(
        caller.project_id,
        key,
        time,
        g.group_filter(filter),
        sort_key,
        direction is SortDirection.DESC,
        page_size(first),
        after,
    )
    return await gq.list_groups(info.context.storage.clickhouse, req), time, sort_key


def _group_cursor(sort: gq.GroupSort, v: gq.GroupView) -> str:
    return Cursor(sort.value, gq.cursor_value(sort, v), v.id).encode()


def _member(info: Info[Context, None]) -> Caller:
    """The caller, who must hold at least the member role (viewers only read)."""
    caller = info.context.require()
    caller.require(Role.MEMBER)
    return caller


@strawberry.type
class ReadMutation:
    @strawberry.mutation(description="Score a trace, observation or session (member role).")
    async def create_score(
        self, info: Info[Context, None], input: s.CreateScoreInput
    ) -> s.CreateScorePayload:
        caller = _member(info)
        body = {
            k: v
            for k, v in {
                "id": input.id,
                "name": input.name,
                "value": input.value,
                "traceId": input.trace_id,
                "observationId": input.observation_id,
                "sessionId": input.session_id,
                "dataType": input.data_type,
                "configId": input.config_id,
                "comment": input.comment,
                "source": "ANNOTATION" if caller.user_id else "API",
            }.items()
            if v is not None
        }
        row = await scores.create_score(info.context.storage, caller.project_id, body)
        page = await sq.list_scores(
            info.context.storage.clickhouse,
            sq.ScoreListRequest(caller.project_id, None, sq.ScoreFilter(ids=(row.id,)), 1),
        )
        return s.CreateScorePayload(score=s.Score.from_view(page.items[0]))

    @strawberry.mutation(description="Delete a score (member role).")
    async def delete_score(
        self, info: Info[Context, None], input: s.DeleteScoreInput
    ) -> s.DeleteScorePayload:
        caller = _member(info)
        await scores.delete_score(info.context.storage, caller.project_id, input.id)
        return s.DeleteScorePayload(id=strawberry.ID(input.id))

    @strawberry.mutation(description="Create a score config (member role).")
    async def create_score_config(
        self, info: Info[Context, None], input: a.CreateScoreConfigInput
    ) -> a.ScoreConfigPayload:
        caller = _member(info)
        body = {
            "name": input.name,
            "dataType": input.data_type,
            "categories": input.categories,
            "minValue": input.min_value,
            "maxValue": input.max_value,
            "description": input.description,
        }
        config = await score_configs.create(info.context.storage, caller.project_id, body)
        return a.ScoreConfigPayload(score_config=a.ScoreConfig.from_row(config))

    @strawberry.mutation(description="Archive or restore a score config (member role).")
    async def archive_score_config(
        self, info: Info[Context, None], input: a.ArchiveScoreConfigInput
    ) -> a.ScoreConfigPayload:
        caller = _member(info)
        config = await score_configs.update(
            info.context.storage, caller.project_id, input.id, {"isArchived": input.archived}
        )
        return a.ScoreConfigPayload(score_config=a.ScoreConfig.from_row(config))

    @strawberry.mutation(description="Delete traces with their observations and scores (member role).")
    async def delete_traces(
        self, info: Info[Context, None], input: t.DeleteTracesInput
    ) -> t.DeleteTracesPayload:
        caller = _member(info)
        deleted = await reads.delete_traces(info.context.storage, caller.project_id, input.trace_ids)
        return t.DeleteTracesPayload(deleted_ids=deleted)

    @strawberry.mutation(description="Bookmark a trace or remove its bookmark (member role).")
    async def bookmark_trace(self, info: Info[Context, None], input: t.BookmarkTraceInput) -> t.TracePayload:
        caller = _member(info)
        view = await reads.set_flags(
            info.context.storage, caller.project_id, input.trace_id, bookmarked=input.bookmarked
        )
        return t.TracePayload(trace=t.Trace.from_view(view))

    @strawberry.mutation(description="Share a trace publicly or stop sharing it (member role).")
    async def set_trace_public(
        self, info: Info[Context, None], input: t.SetTracePublicInput
    ) -> t.TracePayload:
        caller = _member(info)
        view = await reads.set_flags(
            info.context.storage, caller.project_id, input.trace_id, public=input.public
        )
        return t.TracePayload(trace=t.Trace.from_view(view))

    @strawberry.mutation(description="Comment on a trace, observation, session or prompt (member role).")
    async def create_comment(
        self, info: Info[Context, None], input: a.CreateCommentInput
    ) -> a.CreateCommentPayload:
        caller = _member(info)
        comment = await comments.create(
            info.context.storage,
            caller.project_id,
            input.object_type,
            input.object_id,
            input.content,
            caller.user_id,
        )
        return a.CreateCommentPayload(comment=a.Comment.from_row(comment))
