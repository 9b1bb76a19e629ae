"""Mutation fields over judge executions: retry (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import StoreUnavailable
from app.evaluation import judge_executions as domain
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import evaluation_executions as t
from app.jobs.contracts import enqueue_judge


@strawberry.type
class EvaluationExecutionMutationMixin:
    @strawberry.mutation(
        description="Run a failed, cancelled or waiting execution again now (member role).",
        permission_classes=[IsMember],
    )
    async def retry_evaluation_execution(
        self, info: Info[Context, None], input: t.RetryEvaluationExecutionInput
    ) -> t.RetryEvaluationExecutionPayload:
        caller = info.context.require()
        if info.context.jobs is None:
            raise StoreUnavailable("the job queue is not available")
        ex = await domain.retry_execution(info.context.storage, caller.project_id, str(input.id))
        await enqueue_judge(info.context.jobs, caller.project_id, ex.id, again=True)
        return t.RetryEvaluationExecutionPayload(evaluation_execution=t.EvaluationExecution.from_row(ex))
