"""Query fields over metrics: aggregates of observations, traces or scores."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types import metrics as mt
from app.graphql.types.common import as_json
from app.graphql.types.common import time_range as resolve_time
from app.storage.clickhouse.queries import metrics as mq


@strawberry.type
class MetricsQueryMixin:
    @strawberry.field(description="Aggregate observations, traces or scores by time and dimensions.")
    async def metrics(self, info: Info[Context, None], query: mt.MetricsQueryInput) -> mt.MetricsResult:
        caller = info.context.require()
        req = mq.MetricsRequest(
            caller.project_id,
            query.view,
            tuple(mq.MetricSpec(x.measure, x.aggregation) for x in query.metrics),
            resolve_time(query.time_range, "query.timeRange"),
            tuple(query.dimensions),
            tuple(mq.DimensionFilter(f.dimension, tuple(f.values)) for f in query.filters),
            query.granularity,
            query.fill_gaps,
            query.limit,
        )
        result = await mq.run_metrics(info.context.storage.clickhouse, req)
        return mt.MetricsResult(
            columns=result.columns,
            rows=as_json(mt.rows_json(result.rows)),
            served_from=result.served_from,
            granularity=result.granularity,
        )
