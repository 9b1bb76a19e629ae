"""Session and user types: observations grouped by session or user, with their traces and usage."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Literal

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types.common import TimeRangeInput
from app.graphql.types.metrics import Granularity
from app.graphql.types.pagination import PageInfo
from app.graphql.types.score import Score
from app.graphql.types.trace import Trace
from app.storage.clickhouse.queries import groups as q
from app.storage.clickhouse.queries import metrics as m
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TimeRange
from app.tracing import trace_service

MAX_SESSION_TRACES = 100


@strawberry.type(description="Usage of one time bucket.")
class UsagePoint:
    time: datetime = strawberry.field(description="Bucket start (UTC).")
    observations: int = strawberry.field(description="Observations.")
    total_cost: float = strawberry.field(description="Cost (USD).")
    input_tokens: int = strawberry.field(description="Input tokens.")
    output_tokens: int = strawberry.field(description="Output tokens.")
    total_tokens: int = strawberry.field(description="Total tokens.")


def _fields(g: q.GroupView) -> dict[str, object]:
    return {
        "id": strawberry.ID(g.id),
        "first_seen": g.first_seen,
        "last_seen": g.last_seen,
        "duration_ms": g.duration_ms,
        "trace_count": g.trace_count,
        "observation_count": g.observation_count,
        "user_ids": g.user_ids,
        "environments": g.environments,
        "total_cost": float(g.total_cost),
        "cost_details": {k: float(v) for k, v in g.cost_details.items()},
        "usage_details": g.usage_details,
        "total_tokens": g.total_tokens,
    }


@strawberry.interface(description="What a session or a user's observations add up to over the time range.")
class Group:
    view: strawberry.Private[q.GroupView]
    time: strawberry.Private[TimeRange]
    id: strawberry.ID = strawberry.field(description="Session or user id.")
    first_seen: datetime = strawberry.field(description="First observation start (UTC).")
    last_seen: datetime = strawberry.field(description="Last observation end (UTC).")
    duration_ms: float = strawberry.field(description="Last seen minus first seen, in ms.")
    trace_count: int = strawberry.field(description="Traces.")
    observation_count: int = strawberry.field(description="Observations.")
    user_ids: list[str] = strawberry.field(description="Users seen.")
    environments: list[str] = strawberry.field(description="Environments seen.")
    total_cost: float = strawberry.field(description="Cost (USD).")
    cost_details: JSON = strawberry.field(description="Cost by type (USD).")
    usage_details: JSON = strawberry.field(description="Tokens by type.")
    total_tokens: int = strawberry.field(description="Total tokens.")


@strawberry.type(description="A session: the traces sharing a session id (a conversation).")
class Session(Group):
    @classmethod
    def from_view(cls, g: q.GroupView, time: TimeRange) -> Session:
        return cls(view=g, time=time, **_fields(g))  # type: ignore[arg-type]

    @strawberry.field(description="Its traces in time order, with input and output: the conversation.")
    async def traces(self, info: Info[Context, None]) -> list[Trace]:
        caller = info.context.require()
        start = self.view.first_seen - timedelta(minutes=1)
        req = tq.TraceListRequest(
            caller.project_id,
            TimeRange(start, self.view.last_seen + timedelta(minutes=1)),
            tq.TraceFilter(session_ids=(self.view.id,)),
            descending=False,
            first=MAX_SESSION_TRACES,
            with_io=True,
        )
        page = await trace_service.list_traces(info.context.storage, req)
        return [Trace.from_view(t) for t in page.items]

    @strawberry.field(description="Scores given to the session itself.")
    async def scores(self, info: Info[Context, None]) -> list[Score]:
        return [Score.from_view(s) for s in await info.context.loaders.scores_by_session.load(self.view.id)]


@strawberry.type(description="A user of the application (the user id sent with traces).")
class User(Group):
    session_count: int = strawberry.field(description="Sessions.")

    @classmethod
    def from_view(cls, g: q.GroupView, time: TimeRange) -> User:
        return cls(view=g, time=time, session_count=g.session_count, **_fields(g))  # type: ignore[arg-type]

    @strawberry.field(description="Cost and tokens over time (buckets: AUTO picks one for the range).")
    async def usage_over_time(
        self,
        info: Info[Context, None],
        granularity: Granularity = m.Granularity.AUTO,  # type: ignore[valid-type]
    ) -> list[UsagePoint]:
        caller = info.context.require()
        specs = tuple(
            m.MetricSpec(measure, m.Aggregation.SUM)
            for measure in (
                m.Measure.TOTAL_COST,
                m.Measure.INPUT_TOKENS,
                m.Measure.OUTPUT_TOKENS,
                m.Measure.TOTAL_TOKENS,
            )
        )
        req = m.MetricsRequest(
            caller.project_id,
            m.View.OBSERVATIONS,
            (m.MetricSpec(m.Measure.COUNT, m.Aggregation.COUNT), *specs),
            self.time,
            filters=(m.DimensionFilter(m.Dimension.USER, (self.view.id,)),),
            granularity=granularity,
        )
        result = await m.run_metrics(info.context.storage.clickhouse, req)
        return [
            UsagePoint(
                time=r["time"],
                observations=int(r["count_count"] or 0),
                total_cost=float(r["total_cost_sum"] or 0),
                input_tokens=int(r["input_tokens_sum"] or 0),
                output_tokens=int(r["output_tokens_sum"] or 0),
                total_tokens=int(r["total_tokens_sum"] or 0),
            )
            for r in result.rows
        ]


async def load_group(
    info: Info[Context, None], key: Literal["session_id", "user_id"], group_id: str | None, around: datetime
) -> Session | User | None:
    if group_id is None:
        return None
    caller = info.context.require()
    day = around.replace(hour=0, minute=0, second=0, microsecond=0)
    time = TimeRange(day, day + timedelta(days=1))
    view = await q.fetch_group(info.context.storage.clickhouse, caller.project_id, key, group_id, time)
    if view is None:
        return None
    return Session.from_view(view, time) if key == "session_id" else User.from_view(view, time)


@strawberry.enum(description="Sort sessions or users by.")
class GroupSortField(Enum):
    LAST_SEEN = "LAST_SEEN"
    FIRST_SEEN = "FIRST_SEEN"
    TRACE_COUNT = "TRACE_COUNT"
    TOTAL_COST = "TOTAL_COST"
    TOTAL_TOKENS = "TOTAL_TOKENS"
    DURATION = "DURATION"


@strawberry.input(description="Which sessions or users to list.")
class GroupFilterInput:
    time_range: TimeRangeInput | None = strawberry.field(default=None, description="Activity time range.")
    ids: list[str] | None = strawberry.field(default=None, description="Session or user ids.")
    user_ids: list[str] | None = strawberry.field(default=None, description="Users (sessions of them).")
    environments: list[str] | None = strawberry.field(default=None, description="Environments.")
    trace_names: list[str] | None = strawberry.field(default=None, description="Trace names.")


def group_filter(f: GroupFilterInput | None) -> q.GroupFilter:
    if f is None:
        return q.GroupFilter()
    return q.GroupFilter(
        ids=tuple(f.ids or ()),
        user_ids=tuple(f.user_ids or ()),
        environments=tuple(f.environments or ()),
        trace_names=tuple(f.trace_names or ()),
    )


@strawberry.type(description="A session and its cursor.")
class SessionEdge:
    node: Session = strawberry.field(description="The session.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of sessions.")
class SessionConnection:
    edges: list[SessionEdge] = strawberry.field(description="Sessions with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")


@strawberry.type(description="A user and its cursor.")
class UserEdge:
    node: User = strawberry.field(description="The user.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of users.")
class UserConnection:
    edges: list[UserEdge] = strawberry.field(description="Users with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
