"""Mutation fields over scores: create and delete (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import InvalidInput
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import score as s
from app.storage.clickhouse.queries import scores as sq
from app.tracing import scores
from app.tracing.scores import NewScore


@strawberry.type
class ScoreMutationMixin:
    @strawberry.mutation(
        description="Score a trace, observation or session (member role).", permission_classes=[IsMember]
    )
    async def create_score(
        self, info: Info[Context, None], input: s.CreateScoreInput
    ) -> s.CreateScorePayload:
        caller = info.context.require()
        if not isinstance(input.value, str | int | float | None):
            raise InvalidInput("value must be a number or a string")
        score = NewScore(
            id=input.id,
            name=input.name,
            value=input.value,
            trace_id=input.trace_id,
            observation_id=input.observation_id,
            session_id=input.session_id,
            data_type=input.data_type,
            config_id=input.config_id,
            comment=input.comment,
            source="ANNOTATION" if caller.user_id else "API",
        )
        row = await scores.create_score(info.context.storage, caller.project_id, score)
        page = await sq.list_scores(
            info.context.storage.clickhouse,
            sq.ScoreListRequest(caller.project_id, None, sq.ScoreFilter(ids=(row.id,)), 1),
        )
        return s.CreateScorePayload(score=s.Score.from_view(page.items[0]))

    @strawberry.mutation(description="Delete a score (member role).", permission_classes=[IsMember])
    async def delete_score(
        self, info: Info[Context, None], input: s.DeleteScoreInput
    ) -> s.DeleteScorePayload:
        caller = info.context.require()
        await scores.delete_score(info.context.storage, caller.project_id, input.id)
        return s.DeleteScorePayload(id=strawberry.ID(input.id))
