"""Query fields over score analytics: scores by source, and the agreement of two scores."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.analytics import score_agreement as sa
from app.analytics.scores import score_sources
from app.graphql.context import Context
from app.graphql.types import score_analytics as t
from app.graphql.types.common import time_range as resolve_time


def _selector(value: t.ScoreSelectorInput, field: str) -> sa.ScoreSelector:
    return sa.selector(value.name, value.source, value.config_id, field)


@strawberry.type
class ScoreAnalyticsQueryMixin:
    @strawberry.field(
        description="Numeric, boolean and categorical scores by source (API, EVAL, ANNOTATION): trends "
        "over time and distributions."
    )
    async def score_analytics(
        self, info: Info[Context, None], input: t.ScoreAnalyticsInput
    ) -> t.ScoreAnalytics:
        caller = info.context.require()
        time = resolve_time(input.time_range, "input.timeRange")
        found = await score_sources(
            info.context.storage.clickhouse, caller.project_id, time, input.names or ()
        )
        return t.ScoreAnalytics.from_value(found)

    @strawberry.field(
        description="How far two scores agree on the objects both were given to (e.g. an LLM judge and "
        "human annotation), and the objects they disagree on."
    )
    async def score_agreement(
        self, info: Info[Context, None], input: t.ScoreAgreementInput
    ) -> t.ScoreAgreement:
        caller = info.context.require()
        req = sa.PairRequest(
            caller.project_id,
            resolve_time(input.time_range, "input.timeRange"),
            _selector(input.a, "input.a"),
            _selector(input.b, "input.b"),
            sa.level(input.level.value, "input.level"),
        )
        tolerance = sa.tolerance(input.tolerance, "input.tolerance")
        found = await sa.score_agreement(info.context.storage.clickhouse, req, tolerance)
        return t.ScoreAgreement.from_value(found, req)
