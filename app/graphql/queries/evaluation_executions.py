"""Query fields over judge executions: a filtered page, and counts per status."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.evaluation import judge_executions as domain
from app.graphql.context import Context
from app.graphql.types import evaluation_executions as t
from app.graphql.types.pagination import resumed_connection, resumed_page
from app.storage.clickhouse.queries.common import page_size
from app.storage.postgres.eval_tables import JobExecution


def _where(filter: t.EvaluationExecutionFilter | None) -> domain.ExecutionFilter:
    if filter is None:
        return domain.ExecutionFilter()
    status = filter.status.value if filter.status else None
    return domain.ExecutionFilter(filter.rule_id, filter.evaluator_id, status)


@strawberry.type
class EvaluationExecutionQueryMixin:
    @strawberry.field(description="Judge executions of the project, newest first.")
    async def evaluation_executions(
        self,
        info: Info[Context, None],
        filter: t.EvaluationExecutionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> t.EvaluationExecutionConnection:
        caller = info.context.require()
        where = _where(filter)

        async def fetch(cursor: str | None, limit: int) -> tuple[list[JobExecution], str | None]:
            return await domain.list_executions_page(
                info.context.storage, caller.project_id, where, limit, cursor
            )

        rows, nxt = await resumed_page(fetch, after, page_size(first, maximum=100))
        return resumed_connection(
            t.EvaluationExecutionConnection,
            t.EvaluationExecutionEdge,
            rows,
            nxt is not None,
            t.EvaluationExecution.from_row,
        )

    @strawberry.field(description="Executions per status (of a rule or evaluator when the filter names one).")
    async def evaluation_execution_counts(
        self, info: Info[Context, None], filter: t.EvaluationExecutionFilter | None = None
    ) -> list[t.EvaluationExecutionCount]:
        caller = info.context.require()
        counts = await domain.status_counts(info.context.storage, caller.project_id, _where(filter))
        return [
            t.EvaluationExecutionCount(status=t.EvaluationExecutionStatus(s), count=n)
            for s, n in counts.items()
        ]
