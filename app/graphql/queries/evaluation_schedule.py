"""Query fields over scheduled and backfill evaluation runs."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.evaluation import schedules
from app.graphql.context import Context
from app.graphql.types.evaluation_schedule import EvaluationSchedule


@strawberry.type
class EvaluationScheduleQueryMixin:
    @strawberry.field(description="A rule's scheduled and backfill runs with their progress, newest first.")
    async def evaluation_schedules(self, info: Info[Context, None], rule_id: str) -> list[EvaluationSchedule]:
        caller = info.context.require()
        rows = await schedules.list_schedules(info.context.storage, caller.project_id, rule_id)
        return [EvaluationSchedule.from_row(s) for s in rows]

    @strawberry.field(description="One scheduled or backfill run (poll it for progress).")
    async def evaluation_schedule(self, info: Info[Context, None], id: strawberry.ID) -> EvaluationSchedule:
        caller = info.context.require()
        return EvaluationSchedule.from_row(
            await schedules.get_schedule(info.context.storage, caller.project_id, id)
        )
