"""Mutation fields over experiments: delete a run (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import NotFound
from app.evaluation import experiments as ex
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import experiment as e


@strawberry.type
class ExperimentMutationMixin:
    @strawberry.mutation(
        description="Delete an experiment: the record of its item runs (their traces stay) (member role).",
        permission_classes=[IsMember],
    )
    async def delete_experiment(
        self, info: Info[Context, None], input: e.DeleteExperimentInput
    ) -> e.DeleteExperimentPayload:
        caller = info.context.require()
        if not await ex.delete_experiment(info.context.storage, caller.project_id, str(input.id)):
            raise NotFound(f"id: experiment {str(input.id)!r} not found")
        return e.DeleteExperimentPayload(id=input.id)
