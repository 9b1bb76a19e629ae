"""Observation types: one observation, its place in a trace's tree, lists and filters."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.graphql.types.common import (
    MetadataFilterInput,
    NumberRangeInput,
    TagFilterInput,
    TimeRangeInput,
    as_json,
    metadata_filters,
    number_range,
    tag_filter,
)
from app.graphql.types.pagination import PageInfo
from app.storage.clickhouse.queries import observations as q
from app.storage.clickhouse.queries.views import ObservationView, json_or_text


@strawberry.type(description="A span, generation, event, agent, tool… of a trace.")
class Observation:
    id: strawberry.ID = strawberry.field(description="Observation id (the span id).")
    trace_id: str = strawberry.field(description="Its trace.")
    parent_observation_id: str | None = strawberry.field(description="Its parent, if any.")
    type: str = strawberry.field(description="SPAN, GENERATION, EVENT, AGENT, TOOL, CHAIN, RETRIEVER, …")
    name: str = strawberry.field(description="Name.")
    start_time: datetime = strawberry.field(description="Start (UTC).")
    end_time: datetime | None = strawberry.field(description="End (UTC).")
    completion_start_time: datetime | None = strawberry.field(description="First token (UTC).")
    level: str = strawberry.field(description="DEBUG, DEFAULT, WARNING or ERROR.")
    status_message: str | None = strawberry.field(description="Status or error message.")
    version: str | None = strawberry.field(description="Version of the code that produced it.")
    environment: str = strawberry.field(description="Environment.")
    release: str | None = strawberry.field(description="Release.")
    user_id: str | None = strawberry.field(description="User of its trace.")
    session_id: str | None = strawberry.field(description="Session of its trace.")
    model: str | None = strawberry.field(description="Model name as sent.")
    internal_model_id: str | None = strawberry.field(description="The model definition that priced it.")
    model_parameters: JSON | None = strawberry.field(description="Model parameters (temperature, …).")
    usage_details: JSON = strawberry.field(description="Units used by type (input, output, total, …).")
    cost_details: JSON = strawberry.field(description="Cost in USD by type.")
    total_cost: float | None = strawberry.field(description="Total cost in USD.")
    prompt_name: str | None = strawberry.field(description="Linked prompt.")
    prompt_version: int | None = strawberry.field(description="Linked prompt version.")
    latency_ms: float | None = strawberry.field(description="End minus start, in milliseconds.")
    input: str | None = strawberry.field(description="Input (in lists: its first 200 characters).")
    output: str | None = strawberry.field(description="Output (in lists: its first 200 characters).")
    metadata: JSON = strawberry.field(description="Metadata (single observation and trace views only).")

    @classmethod
    def from_view(cls, o: ObservationView) -> Observation:
        return cls(
            id=strawberry.ID(o.id),
            trace_id=o.trace_id,
            parent_observation_id=o.parent_observation_id,
            type=o.type,
            name=o.name,
            start_time=o.start_time,
            end_time=o.end_time,
            completion_start_time=o.completion_start_time,
            level=o.level,
            status_message=o.status_message,
            version=o.version,
            environment=o.environment,
            release=o.release,
            user_id=o.user_id,
            session_id=o.session_id,
            model=o.model,
            internal_model_id=o.internal_model_id,
            model_parameters=json_or_text(o.model_parameters),
            usage_details=as_json(o.usage_details),
            cost_details=as_json({k: float(v) for k, v in o.cost_details.items()}),
            total_cost=None if o.total_cost is None else float(o.total_cost),
            prompt_name=o.prompt_name,
            prompt_version=o.prompt_version,
            latency_ms=o.latency_ms,
            input=o.input,
            output=o.output,
            metadata=as_json(o.metadata),
        )


@strawberry.type(description="An observation placed in its trace: depth in the tree, offset and duration.")
class TraceObservation:
    observation: Observation = strawberry.field(description="The observation.")
    depth: int = strawberry.field(description="0 for a root, 1 for its children, …")
    offset_ms: float = strawberry.field(description="Start, in ms after the trace's first start (timeline).")
    duration_ms: float | None = strawberry.field(description="Duration in ms (null while running).")
    children: list[TraceObservation] = strawberry.field(description="Child observations, in start order.")


@strawberry.enum(description="Sort observations by.")
class ObservationSortField(Enum):
    START_TIME = "START_TIME"
    LATENCY = "LATENCY"
    TOTAL_COST = "TOTAL_COST"
    TOTAL_TOKENS = "TOTAL_TOKENS"


@strawberry.input(description="Which observations to list; every field narrows the list.")
class ObservationFilterInput:
    time_range: TimeRangeInput | None = strawberry.field(default=None, description="Start time range.")
    ids: list[str] | None = strawberry.field(default=None, description="Observation ids.")
    trace_ids: list[str] | None = strawberry.field(default=None, description="Trace ids.")
    names: list[str] | None = strawberry.field(default=None, description="Names.")
    types: list[str] | None = strawberry.field(default=None, description="Types (GENERATION, SPAN, …).")
    levels: list[str] | None = strawberry.field(default=None, description="Levels.")
    models: list[str] | None = strawberry.field(default=None, description="Model names.")
    user_ids: list[str] | None = strawberry.field(default=None, description="User ids.")
    session_ids: list[str] | None = strawberry.field(default=None, description="Session ids.")
    environments: list[str] | None = strawberry.field(default=None, description="Environments.")
    releases: list[str] | None = strawberry.field(default=None, description="Releases.")
    versions: list[str] | None = strawberry.field(default=None, description="Versions.")
    prompt_names: list[str] | None = strawberry.field(default=None, description="Linked prompt names.")
    trace_names: list[str] | None = strawberry.field(default=None, description="Names of their traces.")
    tags: TagFilterInput | None = strawberry.field(default=None, description="Tags of their traces.")
    metadata: list[MetadataFilterInput] | None = strawberry.field(default=None, description="Metadata.")
    latency_ms: NumberRangeInput | None = strawberry.field(default=None, description="Latency in ms.")
    total_cost: NumberRangeInput | None = strawberry.field(default=None, description="Total cost (USD).")
    total_tokens: NumberRangeInput | None = strawberry.field(default=None, description="Total tokens.")
    search: str | None = strawberry.field(default=None, description="Text in input or output (any case).")


def observation_filter(f: ObservationFilterInput | None) -> q.ObservationFilter:
    if f is None:
        return q.ObservationFilter()
    return q.ObservationFilter(
        ids=tuple(f.ids or ()),
        trace_ids=tuple(f.trace_ids or ()),
        names=tuple(f.names or ()),
        types=tuple(f.types or ()),
        levels=tuple(f.levels or ()),
        models=tuple(f.models or ()),
        user_ids=tuple(f.user_ids or ()),
        session_ids=tuple(f.session_ids or ()),
        environments=tuple(f.environments or ()),
        releases=tuple(f.releases or ()),
        versions=tuple(f.versions or ()),
        prompt_names=tuple(f.prompt_names or ()),
        trace_names=tuple(f.trace_names or ()),
        tags=tag_filter(f.tags),
        metadata=metadata_filters(f.metadata),
        latency_ms=number_range(f.latency_ms),
        total_cost=number_range(f.total_cost),
        total_tokens=number_range(f.total_tokens),
        search=f.search,
    )


@strawberry.type(description="An observation and its cursor.")
class ObservationEdge:
    node: Observation = strawberry.field(description="The observation.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of observations.")
class ObservationConnection:
    edges: list[ObservationEdge] = strawberry.field(description="Observations with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
