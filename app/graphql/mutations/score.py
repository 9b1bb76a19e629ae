"""Mutation fields over scores: create and delete (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import score as s
from app.storage.clickhouse.queries import scores as sq
from app.tracing import scores


@strawberry.type
class ScoreMutationMixin:
    @strawberry.mutation(
        description="Score a trace, observation or session (member role).", permission_classes=[IsMember]
    )
    async def create_score(
        self, info: Info[Context, None], input: s.CreateScoreInput
    ) -> s.CreateScorePayload:
        caller = info.context.require()
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

    @strawberry.mutation(description="Delete a score (member role).", permission_classes=[IsMember])
    async def delete_score(
        self, info: Info[Context, None], input: s.DeleteScoreInput
    ) -> s.DeleteScorePayload:
        caller = info.context.require()
        await scores.delete_score(info.context.storage, caller.project_id, input.id)
        return s.DeleteScorePayload(id=strawberry.ID(input.id))
