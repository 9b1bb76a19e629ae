"""Mutation fields over evaluators (member role: viewers only read) and the project's evaluation
settings (admin role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import InvalidInput
from app.evaluation import eval_settings, judge_templates
from app.evaluation import evaluators as ev
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin, IsMember
from app.graphql.types import evaluators as t


@strawberry.type
class EvaluatorMutationMixin:
    @strawberry.mutation(
        description="Create an evaluator from a definition or a built-in template (member role).",
        permission_classes=[IsMember],
    )
    async def create_evaluator(
        self, info: Info[Context, None], input: t.CreateEvaluatorInput
    ) -> t.EvaluatorPayload:
        caller = info.context.require()
        if input.definition is not None:
            definition = input.definition.as_definition()
        elif input.template_key is not None:
            definition = judge_templates.get_template(input.template_key).definition(input.model_config)
        else:
            raise InvalidInput("input.definition: give a definition or a templateKey")
        view = await ev.create_evaluator(
            info.context.storage, caller.project_id, input.name, input.description, definition
        )
        return t.EvaluatorPayload(evaluator=t.Evaluator.from_view(view))

    @strawberry.mutation(
        description="Change an evaluator; a new definition makes a new version (member role).",
        permission_classes=[IsMember],
    )
    async def update_evaluator(
        self, info: Info[Context, None], input: t.UpdateEvaluatorInput
    ) -> t.EvaluatorPayload:
        caller = info.context.require()
        view = await ev.update_evaluator(
            info.context.storage, caller.project_id, str(input.id), input.as_change()
        )
        return t.EvaluatorPayload(evaluator=t.Evaluator.from_view(view))

    @strawberry.mutation(description="Delete an evaluator (member role).", permission_classes=[IsMember])
    async def delete_evaluator(
        self, info: Info[Context, None], input: t.EvaluatorIdInput
    ) -> t.DeleteEvaluatorPayload:
        caller = info.context.require()
        await ev.delete_evaluator(info.context.storage, caller.project_id, str(input.id))
        return t.DeleteEvaluatorPayload(deleted_id=input.id)

    @strawberry.mutation(description="Pause an evaluator (member role).", permission_classes=[IsMember])
    async def pause_evaluator(
        self, info: Info[Context, None], input: t.EvaluatorIdInput
    ) -> t.EvaluatorPayload:
        caller = info.context.require()
        storage, evaluator_id = info.context.storage, str(input.id)
        await ev.pause(storage, caller.project_id, evaluator_id, input.reason or "paused by a user")
        return t.EvaluatorPayload(
            evaluator=t.Evaluator.from_view(await ev.get_evaluator(storage, caller.project_id, evaluator_id))
        )

    @strawberry.mutation(
        description="Resume a paused evaluator (member role).", permission_classes=[IsMember]
    )
    async def resume_evaluator(
        self, info: Info[Context, None], input: t.EvaluatorIdInput
    ) -> t.EvaluatorPayload:
        caller = info.context.require()
        storage, evaluator_id = info.context.storage, str(input.id)
        await ev.resume(storage, caller.project_id, evaluator_id)
        return t.EvaluatorPayload(
            evaluator=t.Evaluator.from_view(await ev.get_evaluator(storage, caller.project_id, evaluator_id))
        )

    @strawberry.mutation(
        description="Set the project's evaluation settings (admin role).", permission_classes=[IsAdmin]
    )
    async def update_evaluation_settings(
        self, info: Info[Context, None], input: t.UpdateEvaluationSettingsInput
    ) -> t.UpdateEvaluationSettingsPayload:
        caller = info.context.require()
        change = eval_settings.SettingsChange(
            str(input.default_connection_id) if input.default_connection_id else None,
            input.default_model,
            input.daily_cost_cap_usd,
            input.code_evaluators_enabled,
        )
        saved = await eval_settings.save_settings(info.context.storage, caller.project_id, change)
        return t.UpdateEvaluationSettingsPayload(settings=t.EvaluationSettings.from_row(saved))
