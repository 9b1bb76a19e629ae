"""Trace types: a trace with its totals, tree, timeline and scores; lists, filters and mutations' inputs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types.common import (
    MetadataFilterInput,
    NumberRangeInput,
    TagFilterInput,
    as_json,
    metadata_filters,
    number_range,
    tag_filter,
)
from app.graphql.types.observation import Observation, TraceObservation
from app.graphql.types.pagination import PageInfo
from app.graphql.types.score import Score
from app.storage.clickhouse.queries import traces as q
from app.storage.clickhouse.queries.common import NumberRange
from app.storage.clickhouse.queries.views import TraceView
from app.tracing import trace_service


def node(n: trace_service.ObservationNode) -> TraceObservation:
    return TraceObservation(
        observation=Observation.from_view(n.observation),
        depth=n.depth,
        offset_ms=n.offset_ms,
        duration_ms=n.duration_ms,
        children=[node(c) for c in n.children],
    )


def _flat(nodes: list[trace_service.ObservationNode]) -> list[trace_service.ObservationNode]:
    out, stack = [], list(reversed(nodes))
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


@strawberry.type(description="What a trace's observations add up to.")
class TraceTotals:
    observation_count: int = strawberry.field(description="Observations.")
    latency_ms: float | None = strawberry.field(description="First start to last end, in ms.")
    total_cost: float = strawberry.field(description="Total cost (USD).")
    cost_details: JSON = strawberry.field(description="Cost by type (USD).")
    usage_details: JSON = strawberry.field(description="Tokens (units) by type.")
    total_tokens: int = strawberry.field(description="Total tokens.")
    counts_by_type: JSON = strawberry.field(description="Observations by type.")
    counts_by_level: JSON = strawberry.field(description="Observations by level.")


@strawberry.type(description="A trace: one request or run of an LLM application.")
class Trace:
    view: strawberry.Private[TraceView]
    id: strawberry.ID = strawberry.field(description="Trace id.")
    timestamp: datetime = strawberry.field(description="Start (UTC).")
    name: str | None = strawberry.field(description="Name.")
    user_id: str | None = strawberry.field(description="User.")
    session_id: str | None = strawberry.field(description="Session.")
    release: str | None = strawberry.field(description="Release.")
    version: str | None = strawberry.field(description="Version.")
    environment: str = strawberry.field(description="Environment.")
    tags: list[str] = strawberry.field(description="Tags.")
    public: bool = strawberry.field(description="Shared publicly.")
    bookmarked: bool = strawberry.field(description="Bookmarked in this project.")
    input: str | None = strawberry.field(description="Input.")
    output: str | None = strawberry.field(description="Output.")
    metadata: JSON = strawberry.field(description="Metadata (single-trace reads).")
    totals: TraceTotals = strawberry.field(description="Latency, cost, tokens and counts.")

    @classmethod
    def from_view(cls, t: TraceView) -> Trace:
        tot = t.totals
        return cls(
            view=t,
            id=strawberry.ID(t.id),
            timestamp=t.timestamp,
            name=t.name,
            user_id=t.user_id,
            session_id=t.session_id,
            release=t.release,
            version=t.version,
            environment=t.environment,
            tags=t.tags,
            public=t.public,
            bookmarked=t.bookmarked,
            input=t.input,
            output=t.output,
            metadata=as_json(t.metadata),
            totals=TraceTotals(
                observation_count=tot.observation_count,
                latency_ms=tot.latency_ms,
                total_cost=float(tot.total_cost),
                cost_details=as_json({k: float(v) for k, v in tot.cost_details.items()}),
                usage_details=as_json(tot.usage_details),
                total_tokens=tot.total_tokens,
                counts_by_type=as_json(tot.counts_by_type),
                counts_by_level=as_json(tot.counts_by_level),
            ),
        )

    @strawberry.field(description="Root observations, each with its children nested (the tree).")
    async def observation_tree(self, info: Info[Context, None]) -> list[TraceObservation]:
        return [node(n) for n in await info.context.loaders.tree_by_trace.load(self.view.id)]

    @strawberry.field(
        description="Every observation in tree order, with depth, offset and duration (timeline)."
    )
    async def timeline(self, info: Info[Context, None]) -> list[TraceObservation]:
        flat = _flat(await info.context.loaders.tree_by_trace.load(self.view.id))
        return [
            TraceObservation(
                observation=Observation.from_view(n.observation),
                depth=n.depth,
                offset_ms=n.offset_ms,
                duration_ms=n.duration_ms,
                children=[],
            )
            for n in flat
        ]

    @strawberry.field(description="Scores of this trace and its observations.")
    async def scores(self, info: Info[Context, None]) -> list[Score]:
        return [Score.from_view(s) for s in await info.context.loaders.scores_by_trace.load(self.view.id)]

    @strawberry.field(description="The trace's session, over the trace's day.")
    async def session(
        self, info: Info[Context, None]
    ) -> Annotated[Session, strawberry.lazy("app.graphql.types.group")] | None:
        from app.graphql.types.group import load_group

        return cast(
            "Session | None", await load_group(info, "session_id", self.view.session_id, self.view.timestamp)
        )

    @strawberry.field(description="The trace's user, over the trace's day.")
    async def user(
        self, info: Info[Context, None]
    ) -> Annotated[User, strawberry.lazy("app.graphql.types.group")] | None:
        from app.graphql.types.group import load_group

        return cast("User | None", await load_group(info, "user_id", self.view.user_id, self.view.timestamp))


if TYPE_CHECKING:
    from app.graphql.types.group import Session, User


@strawberry.enum(description="Sort traces by.")
class TraceSortField(Enum):
    TIMESTAMP = "TIMESTAMP"
    LATENCY = "LATENCY"
    TOTAL_COST = "TOTAL_COST"
    TOTAL_TOKENS = "TOTAL_TOKENS"


@strawberry.input(
    description="A score the trace must have: by name, with a value in range or equal to a string."
)
class ScoreConditionInput:
    name: str = strawberry.field(description="Score name.")
    value: NumberRangeInput | None = strawberry.field(default=None, description="Numeric value range.")
    string_value: str | None = strawberry.field(default=None, description="Categorical value.")


@strawberry.input(description="Which traces to list; every field narrows the list.")
class TraceFilterInput:
    ids: list[str] | None = strawberry.field(default=None, description="Trace ids.")
    names: list[str] | None = strawberry.field(default=None, description="Names.")
    user_ids: list[str] | None = strawberry.field(default=None, description="User ids.")
    session_ids: list[str] | None = strawberry.field(default=None, description="Session ids.")
    environments: list[str] | None = strawberry.field(default=None, description="Environments.")
    releases: list[str] | None = strawberry.field(default=None, description="Releases.")
    versions: list[str] | None = strawberry.field(default=None, description="Versions.")
    tags: TagFilterInput | None = strawberry.field(default=None, description="Tags (any or all).")
    metadata: list[MetadataFilterInput] | None = strawberry.field(default=None, description="Metadata.")
    levels: list[str] | None = strawberry.field(default=None, description="Has an observation at a level.")
    types: list[str] | None = strawberry.field(default=None, description="Has an observation of a type.")
    models: list[str] | None = strawberry.field(default=None, description="Has an observation of a model.")
    latency_ms: NumberRangeInput | None = strawberry.field(default=None, description="Latency in ms.")
    total_cost: NumberRangeInput | None = strawberry.field(default=None, description="Total cost (USD).")
    total_tokens: NumberRangeInput | None = strawberry.field(default=None, description="Total tokens.")
    scores: list[ScoreConditionInput] | None = strawberry.field(default=None, description="Scores it has.")
    bookmarked: bool | None = strawberry.field(default=None, description="Bookmarked only.")
    search: str | None = strawberry.field(default=None, description="Text in any input or output (any case).")


def trace_filter(f: TraceFilterInput | None) -> q.TraceFilter:
    if f is None:
        return q.TraceFilter()
    return q.TraceFilter(
        ids=tuple(f.ids or ()),
        names=tuple(f.names or ()),
        user_ids=tuple(f.user_ids or ()),
        session_ids=tuple(f.session_ids or ()),
        environments=tuple(f.environments or ()),
        releases=tuple(f.releases or ()),
        versions=tuple(f.versions or ()),
        tags=tag_filter(f.tags),
        metadata=metadata_filters(f.metadata),
        levels=tuple(f.levels or ()),
        types=tuple(f.types or ()),
        models=tuple(f.models or ()),
        latency_ms=number_range(f.latency_ms),
        total_cost=number_range(f.total_cost),
        total_tokens=number_range(f.total_tokens),
        scores=tuple(
            q.ScoreCondition(s.name, number_range(s.value) or NumberRange(), s.string_value)
            for s in f.scores or []
        ),
        search=f.search,
    )


@strawberry.type(description="A trace and its cursor.")
class TraceEdge:
    node: Trace = strawberry.field(description="The trace.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of traces.")
class TraceConnection:
    edges: list[TraceEdge] = strawberry.field(description="Traces with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")


@strawberry.input(description="Delete traces with their observations and scores.")
class DeleteTracesInput:
    trace_ids: list[str] = strawberry.field(description="Trace ids (at most 1,000).")


@strawberry.type(description="The traces deleted (ids that did not exist are left out).")
class DeleteTracesPayload:
    deleted_ids: list[str] = strawberry.field(description="Deleted trace ids.")


@strawberry.input(description="Bookmark a trace, or remove the bookmark.")
class BookmarkTraceInput:
    trace_id: str = strawberry.field(description="Trace id.")
    bookmarked: bool = strawberry.field(default=True, description="True to bookmark, false to remove.")


@strawberry.input(description="Share a trace publicly (anyone with the link may view it), or stop sharing.")
class SetTracePublicInput:
    trace_id: str = strawberry.field(description="Trace id.")
    public: bool = strawberry.field(description="Shared or not.")


@strawberry.type(description="The trace after the change.")
class TracePayload:
    trace: Trace = strawberry.field(description="The trace.")
