"""Score types, filters and mutations' inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.graphql.types.common import NumberRangeInput, TimeRangeInput, as_json, number_range
from app.graphql.types.pagination import PageInfo
from app.storage.clickhouse.queries import scores as q
from app.storage.clickhouse.queries.views import ScoreView


@strawberry.type(
    description="A score of a trace, observation or session (numeric, boolean, categorical, text)."
)
class Score:
    id: strawberry.ID = strawberry.field(description="Score id.")
    name: str = strawberry.field(description="Score name.")
    value: float | None = strawberry.field(description="Numeric value (NUMERIC, BOOLEAN).")
    string_value: str | None = strawberry.field(description="Text value (CATEGORICAL, TEXT).")
    data_type: str = strawberry.field(description="NUMERIC, BOOLEAN, CATEGORICAL, TEXT or CORRECTION.")
    source: str = strawberry.field(description="API, EVAL or ANNOTATION.")
    comment: str | None = strawberry.field(description="Comment.")
    trace_id: str | None = strawberry.field(description="Scored trace.")
    observation_id: str | None = strawberry.field(description="Scored observation.")
    session_id: str | None = strawberry.field(description="Scored session.")
    config_id: str | None = strawberry.field(description="Score config it follows.")
    queue_id: str | None = strawberry.field(description="Annotation queue it was given in.")
    author_user_id: str | None = strawberry.field(description="User who gave it (annotation).")
    environment: str = strawberry.field(description="Environment.")
    timestamp: datetime = strawberry.field(description="When it was given (UTC).")
    created_at: datetime = strawberry.field(description="When it was stored.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    metadata: JSON = strawberry.field(description="Metadata.")

    @classmethod
    def from_view(cls, s: ScoreView) -> Score:
        return cls(
            id=strawberry.ID(s.id),
            name=s.name,
            value=s.value,
            string_value=s.string_value,
            data_type=s.data_type,
            source=s.source,
            comment=s.comment,
            trace_id=s.trace_id,
            observation_id=s.observation_id,
            session_id=s.session_id,
            config_id=s.config_id,
            queue_id=s.queue_id,
            author_user_id=s.author_user_id,
            environment=s.environment,
            timestamp=s.timestamp,
            created_at=s.created_at,
            updated_at=s.updated_at,
            metadata=as_json(s.metadata),
        )


@strawberry.input(description="Which scores to list.")
class ScoreFilterInput:
    time_range: TimeRangeInput | None = strawberry.field(default=None, description="Score time range.")
    names: list[str] | None = strawberry.field(default=None, description="Score names.")
    sources: list[str] | None = strawberry.field(default=None, description="API, EVAL, ANNOTATION.")
    data_types: list[str] | None = strawberry.field(default=None, description="Data types.")
    trace_ids: list[str] | None = strawberry.field(default=None, description="Traces.")
    observation_ids: list[str] | None = strawberry.field(default=None, description="Observations.")
    session_ids: list[str] | None = strawberry.field(default=None, description="Sessions.")
    config_ids: list[str] | None = strawberry.field(default=None, description="Score configs.")
    environments: list[str] | None = strawberry.field(default=None, description="Environments.")
    string_values: list[str] | None = strawberry.field(default=None, description="Categorical values.")
    value: NumberRangeInput | None = strawberry.field(default=None, description="Numeric value range.")


def score_filter(f: ScoreFilterInput | None) -> q.ScoreFilter:
    if f is None:
        return q.ScoreFilter()
    return q.ScoreFilter(
        names=tuple(f.names or ()),
        sources=tuple(f.sources or ()),
        data_types=tuple(f.data_types or ()),
        trace_ids=tuple(f.trace_ids or ()),
        observation_ids=tuple(f.observation_ids or ()),
        session_ids=tuple(f.session_ids or ()),
        config_ids=tuple(f.config_ids or ()),
        environments=tuple(f.environments or ()),
        string_values=tuple(f.string_values or ()),
        value=number_range(f.value),
    )


@strawberry.type(description="A score and its cursor.")
class ScoreEdge:
    node: Score = strawberry.field(description="The score.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of scores, newest first.")
class ScoreConnection:
    edges: list[ScoreEdge] = strawberry.field(description="Scores with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")


@strawberry.input(description="Score a trace, observation or session (validated like the REST API).")
class CreateScoreInput:
    name: str = strawberry.field(description="Score name.")
    value: JSON = strawberry.field(
        description="A number (NUMERIC, BOOLEAN 0/1) or a string (CATEGORICAL, TEXT)."
    )
    trace_id: str | None = strawberry.field(default=None, description="Trace to score.")
    observation_id: str | None = strawberry.field(default=None, description="Observation (with traceId).")
    session_id: str | None = strawberry.field(default=None, description="Session to score.")
    data_type: str | None = strawberry.field(default=None, description="Data type; inferred from the value.")
    config_id: str | None = strawberry.field(default=None, description="Score config to validate against.")
    comment: str | None = strawberry.field(default=None, description="Comment.")
    id: str | None = strawberry.field(default=None, description="Id (to update a score); default new.")


@strawberry.type(description="The created score.")
class CreateScorePayload:
    score: Score = strawberry.field(description="The score as stored.")


@strawberry.input(description="Delete a score.")
class DeleteScoreInput:
    id: str = strawberry.field(description="Score id.")


@strawberry.type(description="The deleted score's id.")
class DeleteScorePayload:
    id: strawberry.ID = strawberry.field(description="Deleted score id.")
