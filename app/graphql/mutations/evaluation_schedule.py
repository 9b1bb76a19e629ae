"""Mutation fields over scheduled and backfill evaluation runs: create and cancel (member role)."""

from __future__ import annotations

from typing import Literal

import strawberry
from strawberry.types import Info

from app.errors import InvalidInput
from app.evaluation import schedules
from app.evaluation.schedules import ScheduleRequest
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import evaluation_schedule as es
from app.jobs.contracts import EVAL_SCHEDULE


@strawberry.type
class EvaluationScheduleMutationMixin:
    @strawberry.mutation(
        description="Start a backfill of a rule over a time range, or schedule it daily (member role).",
        permission_classes=[IsMember],
    )
    async def create_evaluation_schedule(
        self, info: Info[Context, None], input: es.CreateEvaluationScheduleInput
    ) -> es.EvaluationSchedulePayload:
        caller = info.context.require()
        if input.kind not in ("range", "daily"):
            raise InvalidInput("kind: one of range, daily")
        kind: Literal["range", "daily"] = "range" if input.kind == "range" else "daily"
        req = ScheduleRequest(kind, input.range_from, input.range_to, input.time_of_day, input.sample_size)
        schedule = await schedules.create_schedule(
            info.context.storage, caller.project_id, input.rule_id, req
        )
        if schedule.kind == "range" and info.context.jobs is not None:
            payload = {"project_id": caller.project_id, "schedule_id": schedule.id}
            await info.context.jobs.enqueue(EVAL_SCHEDULE, payload, job_id=schedules.run_job_id(schedule))
        return es.EvaluationSchedulePayload(evaluation_schedule=es.EvaluationSchedule.from_row(schedule))

    @strawberry.mutation(
        description="Cancel a backfill or a daily schedule (member role).", permission_classes=[IsMember]
    )
    async def cancel_evaluation_schedule(
        self, info: Info[Context, None], input: es.CancelEvaluationScheduleInput
    ) -> es.EvaluationSchedulePayload:
        caller = info.context.require()
        schedule = await schedules.cancel_schedule(info.context.storage, caller.project_id, input.id)
        return es.EvaluationSchedulePayload(evaluation_schedule=es.EvaluationSchedule.from_row(schedule))
