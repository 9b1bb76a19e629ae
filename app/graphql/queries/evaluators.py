"""Query fields over evaluators: the project's evaluators and their versions, the built-in judge
templates, and the project's evaluation settings."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.evaluation import eval_settings, judge_templates
from app.evaluation import evaluators as ev
from app.graphql.context import Context
from app.graphql.types import evaluators as t
from app.graphql.types.pagination import resumed_connection, resumed_page
from app.storage.clickhouse.queries.common import page_size


@strawberry.type
class EvaluatorQueryMixin:
    @strawberry.field(description="The project's evaluators (judges), newest first.")
    async def evaluators(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> t.EvaluatorConnection:
        caller = info.context.require()

        async def fetch(cursor: str | None, limit: int) -> tuple[list[ev.EvaluatorView], str | None]:
            return await ev.list_evaluators(info.context.storage, caller.project_id, limit, cursor)

        rows, nxt = await resumed_page(fetch, after, page_size(first))
        return resumed_connection(
            t.EvaluatorConnection, t.EvaluatorEdge, rows, nxt is not None, t.Evaluator.from_view
        )

    @strawberry.field(description="One evaluator by id.")
    async def evaluator(self, info: Info[Context, None], id: strawberry.ID) -> t.Evaluator:
        caller = info.context.require()
        return t.Evaluator.from_view(await ev.get_evaluator(info.context.storage, caller.project_id, str(id)))

    @strawberry.field(description="An evaluator's versions, newest first (`first` at most 100).")
    async def evaluator_versions(
        self, info: Info[Context, None], evaluator_id: strawberry.ID, first: int | None = None
    ) -> list[t.EvaluatorVersion]:
        caller = info.context.require()
        rows, _ = await ev.list_versions(
            info.context.storage, caller.project_id, str(evaluator_id), page_size(first)
        )
        return [t.EvaluatorVersion.from_row(v) for v in rows]

    @strawberry.field(description="The built-in judges an evaluator can start from.")
    def judge_templates(self, info: Info[Context, None]) -> list[t.JudgeTemplate]:
        info.context.require()
        return [t.JudgeTemplate.from_template(x) for x in judge_templates.list_templates()]

    @strawberry.field(description="The project's evaluation settings (default judge model, cost cap).")
    async def evaluation_settings(self, info: Info[Context, None]) -> t.EvaluationSettings:
        caller = info.context.require()
        return t.EvaluationSettings.from_row(
            await eval_settings.get_settings(info.context.storage, caller.project_id)
        )
