"""Query fields over score configs: the project's list."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types.score_config import ScoreConfig
from app.tracing import score_configs as configs


@strawberry.type
class ScoreConfigQueryMixin:
    @strawberry.field(description="The project's score configs, newest first.")
    async def score_configs(
        self, info: Info[Context, None], include_archived: bool = True
    ) -> list[ScoreConfig]:
        caller = info.context.require()
        rows = await configs.list_configs(info.context.storage, caller.project_id, 1000)
        return [ScoreConfig.from_row(c) for c in rows if include_archived or not c.is_archived]
