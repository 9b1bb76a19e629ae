"""Query fields over evaluation rules: the project's rules (keyset pages) and one by id."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import InvalidInput, NotFound
from app.evaluation import rules
from app.evaluation.encoding import time_cursor
from app.graphql.context import Context
from app.graphql.types import evaluation_rules as t
from app.graphql.types.pagination import PageInfo
from app.storage.postgres.eval_tables import EvaluationRule


def _cursor(r: EvaluationRule) -> str:
    return time_cursor(r.created_at, r.id)


@strawberry.type
class EvaluationRuleQueryMixin:
    @strawberry.field(description="The project's evaluation rules, newest first (`first` ≤ 100).")
    async def evaluation_rules(
        self, info: Info[Context, None], first: int = 50, after: str | None = None
    ) -> t.EvaluationRuleConnection:
        caller = info.context.require()
        if not 1 <= first <= 100:
            raise InvalidInput("first: between 1 and 100")
        found, nxt = await rules.list_rules_page(info.context.storage, caller.project_id, first, after)
        edges = [t.EvaluationRuleEdge(node=t.EvaluationRule.from_row(r), cursor=_cursor(r)) for r in found]
        end = edges[-1].cursor if edges else None
        return t.EvaluationRuleConnection(
            edges=edges, page_info=PageInfo(has_next_page=nxt is not None, end_cursor=end)
        )

    @strawberry.field(description="One evaluation rule by id; null when not found.")
    async def evaluation_rule(self, info: Info[Context, None], id: strawberry.ID) -> t.EvaluationRule | None:
        caller = info.context.require()
        try:
            rule = await rules.fetch_rule(info.context.storage, caller.project_id, str(id))
        except NotFound:
            return None
        return t.EvaluationRule.from_row(rule)
