"""The home dashboard's numbers: totals, volume, cost and tokens by model, latency percentiles,
errors, numeric score averages, the top users and trace names, and the score summaries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TimeRange

Rows = tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over the whole range (cost in USD)."""

    observations: int
    traces: int
    cost: float
    tokens: float
    errors: int


@dataclass(frozen=True, slots=True)
class UserCost:
    user: str
    total_cost: float | None  # USD


@dataclass(frozen=True, slots=True)
class TraceNameUsage:
    trace_name: str
    count: int  # observations
    total_cost: float | None  # USD


@dataclass(frozen=True, slots=True)
class Overview:
    """One project's activity over a range; each series is rows per time bucket (every bucket present)."""

    totals: Totals
    volume: Rows  # time, traces, observations
    by_model: Rows  # time, model, total_cost_sum, total_tokens_sum
    latency: Rows  # time, p50, p95, p99 (ms, upper bounds of ~10 % histogram buckets)
    errors: Rows  # time, errors_sum
    scores: Rows  # time, score_name, value_avg (numeric scores only)
    top_users: tuple[UserCost, ...]  # by cost, at most ten, the empty user left out
    top_trace_names: tuple[TraceNameUsage, ...]  # by cost, at most ten
    score_summaries: tuple[sq.ScoreSummary, ...]
    served_from: str  # the rollup or raw table the sums came from


def _metrics_requests(
    project_id: str, time: TimeRange, environment: str | None
) -> tuple[mq.MetricsRequest, ...]:
    """Sums and latency over time, cost and tokens by model, top users, top trace names, score averages."""
    filters = (mq.DimensionFilter(mq.Dimension.ENVIRONMENT, (environment,)),) if environment else ()

    def metrics(
        *specs: tuple[mq.Measure, mq.Aggregation],
        view: mq.View = mq.View.OBSERVATIONS,
        dims: tuple[mq.Dimension, ...] = (),
        granularity: mq.Granularity | None = mq.Granularity.AUTO,
        fill: bool = True,
    ) -> mq.MetricsRequest:
        specs_ = tuple(mq.MetricSpec(m, a) for m, a in specs)
        return mq.MetricsRequest(project_id, view, specs_, time, dims, filters, granularity, fill)

    cost, count = (mq.Measure.TOTAL_COST, mq.Aggregation.SUM), (mq.Measure.COUNT, mq.Aggregation.COUNT)
    tokens = (mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM)
    numeric = mq.DimensionFilter(mq.Dimension.DATA_TYPE, ("NUMERIC",))
    return (
        metrics(
            count,
            cost,
            tokens,
            (mq.Measure.ERRORS, mq.Aggregation.SUM),
            (mq.Measure.LATENCY, mq.Aggregation.HISTOGRAM),
        ),
        metrics(cost, tokens, dims=(mq.Dimension.MODEL,)),
        # The top ten by cost (eleven users: one may be the empty user, left out below).
        replace(metrics(cost, dims=(mq.Dimension.USER,), granularity=None), top=True, limit=11),
        replace(
            metrics(cost, count, dims=(mq.Dimension.TRACE_NAME,), granularity=None, fill=False),
            top=True,
            limit=10,
        ),
        # Averages of numeric scores only: a boolean's 0/1 or a category is no number to average.
        replace(
            metrics(
                (mq.Measure.VALUE, mq.Aggregation.AVG), view=mq.View.SCORES, dims=(mq.Dimension.SCORE_NAME,)
            ),
            filters=(*filters, numeric),
        ),
    )


async def project_overview(
    ch: ClickHouse, project_id: str, time: TimeRange, environment: str | None = None
) -> Overview:
    """What the home dashboard shows for one project over `time`, optionally one environment only."""
    requests = _metrics_requests(project_id, time, environment)
    # Trace counts from the trace rows, latency percentiles from the hourly histograms: the per-trace
    # aggregation of raw observations is what made this page slow on large projects. The queries are
    # independent: they run side by side (ClickHouse read lanes).
    bucket = mq.bucket_of(mq.auto_granularity(time), "timestamp")
    (sums, by_model, users, names, score_rows), trace_counts, summaries = await asyncio.gather(
        asyncio.gather(*(mq.run_metrics(ch, r) for r in requests)),
        tq.count_over_time(ch, project_id, time, bucket, environment),
        sq.aggregate_score_summaries(ch, project_id, time, environment),
    )
    return Overview(
        totals=Totals(
            observations=sum(r["count_count"] or 0 for r in sums.rows),
            traces=sum(trace_counts.values()),
            cost=sum(r["total_cost_sum"] or 0 for r in sums.rows),
            tokens=sum(r["total_tokens_sum"] or 0 for r in sums.rows),
            errors=sum(r["errors_sum"] or 0 for r in sums.rows),
        ),
        volume=tuple(
            {"time": r["time"], "traces": trace_counts.get(r["time"], 0), "observations": r["count_count"]}
            for r in sums.rows
        ),
        by_model=tuple(by_model.rows),
        latency=tuple(
            {
                "time": r["time"],
                **{f"p{q}": mq.histogram_quantile(r["latency_histogram"], q / 100) for q in (50, 95, 99)},
            }
            for r in sums.rows
        ),
        errors=tuple(sums.rows),
        scores=tuple(score_rows.rows),
        top_users=tuple(UserCost(r["user"], r["total_cost_sum"]) for r in users.rows if r["user"])[:10],
        top_trace_names=tuple(
            TraceNameUsage(r["trace_name"], r["count_count"], r["total_cost_sum"]) for r in names.rows
        ),
        score_summaries=tuple(summaries),
        served_from=sums.served_from,
    )
