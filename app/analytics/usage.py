"""Usage over time: per day and model (the REST daily metrics), and one user's cost and tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries.common import TimeRange

_DAILY = (
    mq.MetricSpec(mq.Measure.COUNT, mq.Aggregation.COUNT),
    mq.MetricSpec(mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.INPUT_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.OUTPUT_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.TRACES, mq.Aggregation.UNIQ),
)


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Only observations of traces with these attributes (an empty tuple: any)."""

    trace_names: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One model's usage on one day (cost in USD)."""

    model: str | None  # None: observations without a model
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    traces: int
    observations: int
    total_cost: float | None


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One UTC day: its distinct traces, observations, cost (USD) and usage per model."""

    day: date
    traces: int
    observations: int
    total_cost: float
    models: tuple[ModelUsage, ...] = field(default=())


async def daily_usage(
    ch: ClickHouse, project_id: str, time: TimeRange, only: UsageFilter = UsageFilter()
) -> list[DailyUsage]:
    """Per UTC day of `time`, newest first, the days with any trace or observation."""
    filters = tuple(
        mq.DimensionFilter(d, v)
        for d, v in (
            (mq.Dimension.TRACE_NAME, only.trace_names),
            (mq.Dimension.USER, only.user_ids),
            (mq.Dimension.TAG, only.tags),
            (mq.Dimension.ENVIRONMENT, only.environments),
        )
        if v
    )
    request = mq.MetricsRequest(
        project_id,
        mq.View.OBSERVATIONS,
        _DAILY,
        time,
        (mq.Dimension.MODEL,),
        filters,
        mq.Granularity.DAY,
        fill_gaps=False,
        subtotals=True,  # each day's distinct traces over all models, in the same scan
    )
    rows = (await mq.run_metrics(ch, request)).rows
    days: dict[date, dict[str, Any]] = {}
    for r in rows:
        if r["subtotal"]:
            days[r["time"].date()] = {
                "traces": r["traces_uniq"],
                "observations": 0,
                "cost": 0.0,
                "models": [],
            }
    for r in rows:
        if r["subtotal"]:
            continue
        day = days.setdefault(r["time"].date(), {"traces": 0, "observations": 0, "cost": 0.0, "models": []})
        day["observations"] += r["count_count"]
        day["cost"] += r["total_cost_sum"] or 0.0
        day["models"].append(
            ModelUsage(
                model=r["model"] or None,
                input_tokens=r["input_tokens_sum"],
                output_tokens=r["output_tokens_sum"],
                total_tokens=r["total_tokens_sum"],
                traces=r["traces_uniq"],
                observations=r["count_count"],
                total_cost=r["total_cost_sum"],
            )
        )
    return [
        DailyUsage(d, v["traces"], v["observations"], v["cost"], tuple(v["models"]))
        for d, v in sorted(days.items(), reverse=True)
        if v["traces"] or v["observations"]
    ]


async def user_usage(
    ch: ClickHouse, project_id: str, user_id: str, time: TimeRange
) -> tuple[dict[str, Any], ...]:
    """One user's cost (USD) and tokens per time bucket of `time`: rows of time, total_cost_sum,
    total_tokens_sum (every bucket present)."""
    result = await mq.run_metrics(
        ch,
        mq.MetricsRequest(
            project_id,
            mq.View.OBSERVATIONS,
            (
                mq.MetricSpec(mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
                mq.MetricSpec(mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
            ),
            time,
            filters=(mq.DimensionFilter(mq.Dimension.USER, (user_id,)),),
        ),
    )
    return tuple(result.rows)
