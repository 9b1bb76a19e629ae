"""Mutation fields over evaluation rules: create, update and delete (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.evaluation import rules
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import evaluation_rules as t


@strawberry.type
class EvaluationRuleMutationMixin:
    @strawberry.mutation(
        description="Create an evaluation rule (member role).", permission_classes=[IsMember]
    )
    async def create_evaluation_rule(
        self, info: Info[Context, None], input: t.CreateEvaluationRuleInput
    ) -> t.EvaluationRulePayload:
        caller = info.context.require()
        rule = await rules.create_rule(info.context.storage, caller.project_id, input.as_spec())
        return t.EvaluationRulePayload(evaluation_rule=t.EvaluationRule.from_row(rule))

    @strawberry.mutation(
        description="Change an evaluation rule (member role).", permission_classes=[IsMember]
    )
    async def update_evaluation_rule(
        self, info: Info[Context, None], input: t.UpdateEvaluationRuleInput
    ) -> t.EvaluationRulePayload:
        caller = info.context.require()
        rule = await rules.update_rule(
            info.context.storage, caller.project_id, str(input.id), input.as_patch()
        )
        return t.EvaluationRulePayload(evaluation_rule=t.EvaluationRule.from_row(rule))

    @strawberry.mutation(
        description="Delete an evaluation rule (member role).", permission_classes=[IsMember]
    )
    async def delete_evaluation_rule(
        self, info: Info[Context, None], input: t.DeleteEvaluationRuleInput
    ) -> t.DeleteEvaluationRulePayload:
        caller = info.context.require()
        await rules.delete_rule(info.context.storage, caller.project_id, str(input.id))
        return t.DeleteEvaluationRulePayload(id=input.id)
