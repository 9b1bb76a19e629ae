"""The metrics query: views, measures, aggregations, dimensions, filters and time buckets."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.graphql.types.common import TimeRangeInput
from app.storage.clickhouse.queries import metrics as m

View = strawberry.enum(
    m.View, description="What to aggregate: observations, traces (per-trace totals) or scores."
)
Dimension = strawberry.enum(m.Dimension, description="A column to group or filter by.")
Measure = strawberry.enum(m.Measure, description="A value to aggregate.")
Aggregation = strawberry.enum(m.Aggregation, description="How to aggregate a measure.")
Granularity = strawberry.enum(m.Granularity, description="Time bucket size; AUTO picks one for the range.")


@strawberry.input(description="A measure and how to aggregate it.")
class MetricInput:
    measure: Measure = strawberry.field(description="What to aggregate.")  # type: ignore[valid-type]
    aggregation: Aggregation = strawberry.field(description="How.")  # type: ignore[valid-type]


@strawberry.input(description="Keep rows whose dimension has one of these values.")
class DimensionFilterInput:
    dimension: Dimension = strawberry.field(description="Dimension.")  # type: ignore[valid-type]
    values: list[str] = strawberry.field(description="Values.")


@strawberry.input(description="A metrics query.")
class MetricsQueryInput:
    view: View = strawberry.field(description="View.")  # type: ignore[valid-type]
    metrics: list[MetricInput] = strawberry.field(description="Measures with aggregations.")
    dimensions: list[Dimension] = strawberry.field(default_factory=list, description="Group by.")  # type: ignore[valid-type]
    filters: list[DimensionFilterInput] = strawberry.field(default_factory=list, description="Filters.")
    time_range: TimeRangeInput | None = strawberry.field(
        default=None, description="Time range (default 24 h)."
    )
    granularity: Granularity | None = strawberry.field(  # type: ignore[valid-type]
        default=m.Granularity.AUTO, description="Time bucket; null for no time dimension."
    )
    fill_gaps: bool = strawberry.field(default=True, description="Emit empty buckets (zero sums).")
    limit: int = strawberry.field(default=1000, description="At most this many rows (≤ 5,000).")


@strawberry.type(description="Metrics rows: one per time bucket and dimension values.")
class MetricsResult:
    columns: list[str] = strawberry.field(
        description="Row keys: time, dimensions, then `<measure>_<aggregation>`."
    )
    rows: JSON = strawberry.field(description="Rows as objects keyed by the columns.")
    served_from: str = strawberry.field(
        description="observations_hourly (materialised view) or the raw table."
    )
    granularity: Granularity | None = strawberry.field(description="The bucket size used.")  # type: ignore[valid-type]


def rows_json(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]
