"""Score analytics: each score name summed up as its data type allows, over time, as a distribution
and by trace name; and the same by source (API, EVAL, ANNOTATION)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.errors import InvalidInput
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import TimeRange

Rows = tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ScoreHistogram:
    score_name: str
    buckets: list[dict[str, Any]]  # [{lower, upper, count}], ~10 % wide


@dataclass(frozen=True, slots=True)
class TraceNameBreakdown:
    """One score name and data type by trace name: the average (numeric), the share of True
    (boolean) or the count per category (categorical), as the cells to show."""

    score_name: str
    data_type: str
    columns: list[str]
    rows: dict[str, dict[str, str]]  # trace name -> column -> cell
    missing: str  # the cell of a column a trace name has no value for


@dataclass(frozen=True, slots=True)
class ScoreAnalytics:
    """A project's scores over a range. A name used with two data types gives two summaries, never
    one mixed average."""

    summaries: tuple[sq.ScoreSummary, ...]
    numeric_over_time: Rows  # time, score_name, value_avg
    boolean_over_time: Rows | None  # time, score_name, value_avg (the share of True); None: no booleans
    histograms: tuple[ScoreHistogram, ...]  # numeric scores only
    by_trace_name: tuple[TraceNameBreakdown, ...]


async def score_analytics(ch: ClickHouse, project_id: str, time: TimeRange) -> ScoreAnalytics:
    """What the score analytics page shows for one project over `time`."""

    async def run(
        specs: tuple[tuple[mq.Measure, mq.Aggregation], ...],
        dims: tuple[mq.Dimension, ...],
        granularity: mq.Granularity | None,
        data_types: tuple[str, ...],
    ) -> mq.MetricsResult:
        metrics = tuple(mq.MetricSpec(*spec) for spec in specs)
        data_type = (mq.DimensionFilter(mq.Dimension.DATA_TYPE, data_types),)
        req = mq.MetricsRequest(
            project_id, mq.View.SCORES, metrics, time, dims, data_type, granularity, bool(granularity)
        )
        return await mq.run_metrics(ch, req)

    summaries = await sq.aggregate_score_summaries(ch, project_id, time)
    kinds = {s.data_type for s in summaries}
    avg, count = (mq.Measure.VALUE, mq.Aggregation.AVG), (mq.Measure.COUNT, mq.Aggregation.COUNT)
    by_name, auto = (mq.Dimension.SCORE_NAME,), mq.Granularity.AUTO
    over_time = await run((avg,), by_name, auto, ("NUMERIC",))
    shares = await run((avg,), by_name, auto, ("BOOLEAN",)) if "BOOLEAN" in kinds else None
    histograms = (
        await run(((mq.Measure.VALUE, mq.Aggregation.HISTOGRAM),), by_name, None, ("NUMERIC",))
        if "NUMERIC" in kinds
        else None
    )
    by_trace = (mq.Dimension.SCORE_NAME, mq.Dimension.DATA_TYPE, mq.Dimension.TRACE_NAME)
    averages = await run((avg, count), by_trace, None, ("NUMERIC", "BOOLEAN"))
    categories = await run((count,), (*by_trace, mq.Dimension.STRING_VALUE), None, ("CATEGORICAL",))
    return ScoreAnalytics(
        summaries=tuple(summaries),
        numeric_over_time=tuple(over_time.rows),
        boolean_over_time=tuple(shares.rows) if shares is not None else None,
        histograms=tuple(
            ScoreHistogram(r["score_name"], r["value_histogram"])
            for r in (histograms.rows if histograms else ())
        ),
        by_trace_name=tuple(_by_trace_name(averages, categories)),
    )


def _by_trace_name(averages: mq.MetricsResult, categories: mq.MetricsResult) -> list[TraceNameBreakdown]:
    out: dict[tuple[str, str], TraceNameBreakdown] = {}
    cells: list[tuple[str, str, str, str, str]] = []
    for r in averages.rows:
        if r["data_type"] == "BOOLEAN":
            share = f"{round(100 * (r['value_avg'] or 0))}% (n={r['count_count']})"
            cells.append((r["score_name"], "BOOLEAN", r["trace_name"], "True", share))
        else:
            average = "" if r["value_avg"] is None else f"{r['value_avg']:.3f}"
            cells.append((r["score_name"], "NUMERIC", r["trace_name"], "Average", average))
    for r in categories.rows:
        cells.append(
            (r["score_name"], "CATEGORICAL", r["trace_name"], r["string_value"], str(r["count_count"]))
        )
    for score_name, data_type, trace_name, column, cell in cells:
        found = out.setdefault(
            (score_name, data_type),
            TraceNameBreakdown(score_name, data_type, [], {}, "0" if data_type == "CATEGORICAL" else ""),
        )
        if column not in found.columns:
            found.columns.append(column)
        found.rows.setdefault(trace_name, {})[column] = cell
    return [out[k] for k in sorted(out)]


MAX_NAMES = 100
SOURCE_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL")


@dataclass(frozen=True, slots=True)
class SourceDistribution:
    """One score name and data type from one source over a range: how many, the average (numeric) or
    the share of True (boolean), a histogram (numeric; ~10 % wide buckets), and the count per label
    (categorical; boolean: True and False)."""

    name: str
    data_type: str
    source: str
    count: int
    average: float | None
    histogram: tuple[dict[str, Any], ...] = ()
    categories: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ScoreSourceAnalytics:
    """Scores by source (API, EVAL, ANNOTATION): per time bucket, name, data type and source the count
    and average (`trends`: time, score_name, data_type, source, count_count, value_avg; every bucket of
    the range for each name, data type and source seen, count 0 where it has none; no average for
    categorical scores or empty buckets), and the distribution of each name, data type and source."""

    trends: Rows
    distributions: tuple[SourceDistribution, ...]
    granularity: mq.Granularity


def trend_granularity(time: TimeRange) -> mq.Granularity:
    """Buckets for a trend by source: a few dozen over the range (every name and source has a line)."""
    span = time.end - time.start
    if span <= timedelta(hours=2):
        return mq.Granularity.MINUTE
    if span <= timedelta(days=3):
        return mq.Granularity.HOUR
    if span <= timedelta(days=90):
        return mq.Granularity.DAY
    if span <= timedelta(days=400):
        return mq.Granularity.WEEK
    return mq.Granularity.MONTH


def score_names(names: Sequence[str]) -> tuple[str, ...]:
    """Score names to keep (none: every name); InvalidInput on an empty one or too many."""
    out = tuple(dict.fromkeys(n.strip() for n in names))
    if any(not n for n in out):
        raise InvalidInput("names: a score name must not be empty")
    if len(out) > MAX_NAMES:
        raise InvalidInput(f"names: at most {MAX_NAMES} score names")
    return out


async def score_sources(
    ch: ClickHouse, project_id: str, time: TimeRange, names: Sequence[str] = ()
) -> ScoreSourceAnalytics:
    """Numeric, boolean and categorical scores of one project over `time` by source (`names`: only
    these score names), through the metrics layer: four reads, run side by side."""
    kept = score_names(names)
    granularity = trend_granularity(time)

    def request(
        specs: tuple[tuple[mq.Measure, mq.Aggregation], ...],
        dims: tuple[mq.Dimension, ...],
        data_types: tuple[str, ...],
        buckets: mq.Granularity | None = None,
    ) -> mq.MetricsRequest:
        # Trends get every bucket of the range (an empty one: count 0, no average), so charts keep scale.
        filters = [mq.DimensionFilter(mq.Dimension.DATA_TYPE, data_types)]
        if kept:
            filters.append(mq.DimensionFilter(mq.Dimension.SCORE_NAME, kept))
        metrics = tuple(mq.MetricSpec(*spec) for spec in specs)
        return mq.MetricsRequest(
            project_id, mq.View.SCORES, metrics, time, dims, tuple(filters), buckets, fill_gaps=True
        )

    avg, count = (mq.Measure.VALUE, mq.Aggregation.AVG), (mq.Measure.COUNT, mq.Aggregation.COUNT)
    by_source = (mq.Dimension.SCORE_NAME, mq.Dimension.DATA_TYPE, mq.Dimension.SOURCE)
    trends, totals, histograms, labels = await asyncio.gather(
        mq.run_metrics(ch, request((count, avg), by_source, SOURCE_TYPES, granularity)),
        mq.run_metrics(ch, request((count, avg), by_source, SOURCE_TYPES)),
        mq.run_metrics(
            ch,
            request(
                ((mq.Measure.VALUE, mq.Aggregation.HISTOGRAM),),
                (mq.Dimension.SCORE_NAME, mq.Dimension.SOURCE),
                ("NUMERIC",),
            ),
        ),
        mq.run_metrics(ch, request((count,), (*by_source, mq.Dimension.STRING_VALUE), ("CATEGORICAL",))),
    )
    for r in trends.rows:
        if r["data_type"] == "CATEGORICAL" or not r["count_count"]:
            r["value_avg"] = None  # a category's number (if any) is no measure; an empty bucket has none
    buckets = {(r["score_name"], r["source"]): tuple(r["value_histogram"]) for r in histograms.rows}
    counted: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for r in labels.rows:
        counted.setdefault((r["score_name"], r["source"]), []).append((r["string_value"], r["count_count"]))
    out = []
    for r in totals.rows:
        name, kind, source, n = r["score_name"], r["data_type"], r["source"], int(r["count_count"])
        average = r["value_avg"] if kind != "CATEGORICAL" else None
        categories: tuple[tuple[str, int], ...] = ()
        if kind == "BOOLEAN":
            true = round((average or 0) * n)
            categories = (("True", true), ("False", n - true))
        elif kind == "CATEGORICAL":
            categories = tuple(sorted(counted.get((name, source), []), key=lambda c: (-c[1], c[0])))
        histogram = buckets.get((name, source), ()) if kind == "NUMERIC" else ()
        out.append(SourceDistribution(name, kind, source, n, average, histogram, categories))
    return ScoreSourceAnalytics(tuple(trends.rows), tuple(out), granularity)
