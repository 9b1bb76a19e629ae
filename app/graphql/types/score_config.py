"""Score config types, inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.graphql.types.common import as_json
from app.storage.postgres.tables import ScoreConfig as ScoreConfigRow


@strawberry.type(description="What scores of a name may hold: type, range, categories.")
class ScoreConfig:
    id: strawberry.ID = strawberry.field(description="Config id.")
    name: str = strawberry.field(description="Score name.")
    data_type: str = strawberry.field(description="NUMERIC, BOOLEAN, CATEGORICAL or TEXT.")
    categories: JSON | None = strawberry.field(description="Allowed categories [{value, label}].")
    min_value: float | None = strawberry.field(description="Lowest allowed value.")
    max_value: float | None = strawberry.field(description="Highest allowed value.")
    description: str | None = strawberry.field(description="Description.")
    is_archived: bool = strawberry.field(description="Archived configs accept no new scores.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")

    @classmethod
    def from_row(cls, c: ScoreConfigRow) -> ScoreConfig:
        return cls(
            id=strawberry.ID(c.id),
            name=c.name,
            data_type=c.data_type,
            categories=as_json(c.categories),
            min_value=c.min_value,
            max_value=c.max_value,
            description=c.description,
            is_archived=c.is_archived,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


@strawberry.input(description="A new score config.")
class CreateScoreConfigInput:
    name: str = strawberry.field(description="Score name.")
    data_type: str = strawberry.field(description="NUMERIC, BOOLEAN, CATEGORICAL or TEXT.")
    categories: JSON | None = strawberry.field(default=None, description="[{value, label}] for CATEGORICAL.")
    min_value: float | None = strawberry.field(default=None, description="Lowest value (NUMERIC).")
    max_value: float | None = strawberry.field(default=None, description="Highest value (NUMERIC).")
    description: str | None = strawberry.field(default=None, description="Description.")


@strawberry.input(description="Archive (or restore) a score config.")
class ArchiveScoreConfigInput:
    id: str = strawberry.field(description="Config id.")
    archived: bool = strawberry.field(default=True, description="True to archive, false to restore.")


@strawberry.type(description="The score config after the change.")
class ScoreConfigPayload:
    score_config: ScoreConfig = strawberry.field(description="The config.")
