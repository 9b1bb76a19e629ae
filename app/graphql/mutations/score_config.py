"""Mutation fields over score configs: create, archive and restore (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import score_config as sc
from app.tracing import score_configs
from app.tracing.score_configs import ScoreConfigChange, ScoreConfigSpec


@strawberry.type
class ScoreConfigMutationMixin:
    @strawberry.mutation(description="Create a score config (member role).", permission_classes=[IsMember])
    async def create_score_config(
        self, info: Info[Context, None], input: sc.CreateScoreConfigInput
    ) -> sc.ScoreConfigPayload:
        caller = info.context.require()
        spec = ScoreConfigSpec(
            name=input.name,
            data_type=input.data_type,
            categories=score_configs.categories_from_json(input.categories)
            if input.data_type == "CATEGORICAL"
            else (),
            min_value=input.min_value,
            max_value=input.max_value,
            description=input.description,
        )
        config = await score_configs.create_config(info.context.storage, caller.project_id, spec)
        return sc.ScoreConfigPayload(score_config=sc.ScoreConfig.from_row(config))

    @strawberry.mutation(
        description="Archive or restore a score config (member role).", permission_classes=[IsMember]
    )
    async def archive_score_config(
        self, info: Info[Context, None], input: sc.ArchiveScoreConfigInput
    ) -> sc.ScoreConfigPayload:
        caller = info.context.require()
        config = await score_configs.update_config(
            info.context.storage, caller.project_id, input.id, ScoreConfigChange(is_archived=input.archived)
        )
        return sc.ScoreConfigPayload(score_config=sc.ScoreConfig.from_row(config))
