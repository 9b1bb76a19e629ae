"""The metrics layer: views, dimensions, measures and aggregations compiled to one GROUP BY query.

A query over the observations view is served from a rollup (`observations_hourly`, or
`observations_by_dimension_hourly` for users and trace names) when one fits it (its dimensions and
filters are columns of the rollup, its measures are sums the rollup keeps, its time range starts and
ends on whole hours, buckets are an hour or longer); otherwise from the raw rows. Both paths
compute the same sign-weighted sums, so they give the same numbers.
Percentiles, min/max and distinct counts always read the raw rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, assert_never

from app.errors import InvalidInput
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import LOOKUP_WINDOW, PROJECT, Params, TimeRange, where
from app.storage.clickhouse.queries.metric_registry import (
    HOURLY_SUMS,
    OBS_DIMENSIONS,
    OBS_MEASURES,
    ROLLUPS,
    SCORE_DIMENSIONS,
    SCORE_MEASURES,
    SCORE_ROWS,
    SCORED_TRACE_NAMES,
    TRACE_DIMENSIONS,
    TRACE_MEASURES,
    TRACE_ROWS,
    Aggregation,
    Dimension,
    Granularity,
    Measure,
    Rollup,
    View,
)
from app.storage.clickhouse.queries.views import utc
from app.storage.clickhouse.query import CompiledQuery

MAX_ROWS = 5_000
MAX_BUCKETS = 2_000


_BUCKET_FN = {
    Granularity.MINUTE: "toStartOfMinute",
    Granularity.HOUR: "toStartOfHour",
    Granularity.DAY: "toStartOfDay",
    Granularity.WEEK: "toMonday",
    Granularity.MONTH: "toStartOfMonth",
}
_STEP = {
    Granularity.MINUTE: timedelta(minutes=1),
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
    Granularity.WEEK: timedelta(weeks=1),
}
_SUMS = {Aggregation.COUNT, Aggregation.SUM, Aggregation.AVG}
_QUANTILES = {Aggregation.P50: 0.5, Aggregation.P90: 0.9, Aggregation.P95: 0.95, Aggregation.P99: 0.99}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    measure: Measure
    aggregation: Aggregation

    @property
    def alias(self) -> str:
        return f"{self.measure.value.lower()}_{self.aggregation.value.lower()}"


@dataclass(frozen=True, slots=True)
class DimensionFilter:
    dimension: Dimension
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MetricsRequest:
    project_id: str
    view: View
    metrics: tuple[MetricSpec, ...]
    time: TimeRange
    dimensions: tuple[Dimension, ...] = ()
    filters: tuple[DimensionFilter, ...] = ()
    granularity: Granularity | None = Granularity.AUTO  # None: no time dimension
    fill_gaps: bool = True
    limit: int = MAX_ROWS
    top: bool = False  # rows by the first metric, largest first (with `limit`: the top N)
    # Also one row per time bucket over all dimension values, marked `subtotal` (one scan for both).
    subtotals: bool = False


@dataclass(slots=True)
class MetricsResult:
    columns: list[str]
    rows: list[dict[str, Any]]
    served_from: str  # the rollup or the raw table
    granularity: Granularity | None = None


def auto_granularity(time: TimeRange) -> Granularity:
    span = time.end - time.start
    if span <= timedelta(hours=3):
        return Granularity.MINUTE
    if span <= timedelta(days=3):
        return Granularity.HOUR
    if span <= timedelta(days=90):
        return Granularity.DAY
    if span <= timedelta(days=400):
        return Granularity.WEEK
    return Granularity.MONTH


def _registries(view: View) -> tuple[dict[Dimension, str], dict[Measure, str]]:
    if view is View.OBSERVATIONS:
        return OBS_DIMENSIONS, OBS_MEASURES
    if view is View.TRACES:
        return TRACE_DIMENSIONS, TRACE_MEASURES
    if view is View.SCORES:
        return SCORE_DIMENSIONS, SCORE_MEASURES
    assert_never(view)


def _validate(req: MetricsRequest) -> Granularity | None:
    if not req.metrics:
        raise InvalidInput("metrics: ask for at least one measure")
    dims, measures = _registries(req.view)
    for d in (*req.dimensions, *(f.dimension for f in req.filters)):
        if d not in dims:
            raise InvalidInput(f"dimension {d.value} is not available on view {req.view.value}")
    for m in req.metrics:
        if m.measure not in measures:
            raise InvalidInput(f"measure {m.measure.value} is not available on view {req.view.value}")
        distinct = m.measure in (Measure.TRACES, Measure.USERS, Measure.SESSIONS)
        if distinct != (m.aggregation is Aggregation.UNIQ) and not (
            distinct and m.aggregation is Aggregation.COUNT
        ):
            raise InvalidInput(
                f"{m.measure.value} takes aggregation UNIQ"
                if distinct
                else f"aggregation UNIQ needs measure TRACES, USERS or SESSIONS, not {m.measure.value}"
            )
    if req.limit < 1 or req.limit > MAX_ROWS:
        raise InvalidInput(f"limit must be between 1 and {MAX_ROWS}")
    granularity = req.granularity
    if granularity is Granularity.AUTO:
        granularity = auto_granularity(req.time)
    if granularity is not None and granularity is not Granularity.MONTH:
        buckets = (req.time.end - req.time.start) / _STEP[granularity]
        if buckets > MAX_BUCKETS:
            raise InvalidInput(
                f"granularity {granularity.value} gives {math.ceil(buckets)} buckets over this range "
                f"(at most {MAX_BUCKETS}); choose a coarser one"
            )
    return granularity


def _aggregate(spec: MetricSpec, expr: str, weighted: bool) -> str:
    """The aggregate expression. `weighted`: rows carry a sign (observations) to weight sums with."""
    sign = " * sign" if weighted else ""
    live = "sign = 1" if weighted else "1"
    agg = spec.aggregation
    if spec.measure in (Measure.TRACES, Measure.USERS, Measure.SESSIONS):
        return f"uniqExactIf({expr}, {live} AND {expr} IS NOT NULL AND {expr} != '')"
    if agg is Aggregation.COUNT:
        return f"sum(1{sign})" if weighted else "count()"
    if agg is Aggregation.SUM:
        return f"sum({expr}{sign})"
    if agg is Aggregation.AVG:
        return f"sum({expr}{sign}) / nullIf(sum(1{sign}), 0)"
    if agg is Aggregation.MIN:
        return f"minIf({expr}, {live})"
    if agg is Aggregation.MAX:
        return f"maxIf({expr}, {live})"
    if agg is Aggregation.P50 or agg is Aggregation.P90 or agg is Aggregation.P95 or agg is Aggregation.P99:
        return f"quantileExactIf({_QUANTILES[agg]})({expr}, {live})"
    if agg is Aggregation.HISTOGRAM:
        bucket = f"toUInt16(floor(log(1 + greatest(toFloat64({expr}), 0)) * 10))"
        return f"sumMap(map({bucket}, toInt64(1{sign})))"
    if agg is Aggregation.UNIQ:
        return f"uniqExactIf({expr}, {live})"
    assert_never(agg)


def _rollup(req: MetricsRequest, granularity: Granularity | None) -> Rollup | None:
    """The first rollup that can serve this request, if any."""
    if req.view is not View.OBSERVATIONS or granularity is Granularity.MINUTE:
        return None
    if any(t.minute or t.second or t.microsecond for t in (req.time.start, req.time.end)):
        return None
    dims = (*req.dimensions, *(f.dimension for f in req.filters))
    for rollup in ROLLUPS:
        if all(d in rollup.dimensions for d in dims) and all(
            (m.aggregation in _SUMS and rollup.sums(m.measure))
            or (rollup.histogram and m.measure is Measure.LATENCY and m.aggregation is Aggregation.HISTOGRAM)
            for m in req.metrics
        ):
            return rollup
    return None


def _hourly_aggregate(spec: MetricSpec) -> str:
    if spec.aggregation is Aggregation.HISTOGRAM:
        return "sumMap(latency_buckets)"
    total = HOURLY_SUMS[spec.measure]
    if spec.aggregation is Aggregation.AVG:
        return f"{total} / nullIf(sum(observations), 0)"
    if spec.aggregation is Aggregation.COUNT:
        return "sum(observations)"
    return total


def compile_metrics(req: MetricsRequest) -> tuple[CompiledQuery, Granularity | None]:
    granularity = _validate(req)
    params = Params(req.project_id)
    start, end = params.bind(req.time.start, "DateTime64(6)"), params.bind(req.time.end, "DateTime64(6)")
    rollup = _rollup(req, granularity)
    if rollup is not None:
        dims, time_col, table = rollup.dimensions, "hour", rollup.table
        preds = [PROJECT, f"hour >= {start}", f"hour < {end}"]
        if rollup.condition:
            preds.append(rollup.condition)
        selects = [f"{_hourly_aggregate(m)} AS {m.alias}" for m in req.metrics]
        source = table
    else:
        dims, measures = _registries(req.view)
        weighted = req.view is View.OBSERVATIONS
        if req.view is View.OBSERVATIONS:
            time_col, source = "start_time", "observations"
            table = "observations"
            preds = [PROJECT, f"start_time >= {start}", f"start_time < {end}"]
        elif req.view is View.TRACES:
            time_col, source = "trace_start", "traces"
            inner = where([PROJECT, f"start_time >= {start}", f"start_time < {end}"])
            table = f"({TRACE_ROWS.format(preds=inner)})"
            preds = []
        else:
            time_col, source = "timestamp", "scores"
            scores = SCORE_ROWS.format(preds=where([PROJECT, f"timestamp >= {start}", f"timestamp < {end}"]))
            if Dimension.TRACE_NAME in (*req.dimensions, *(f.dimension for f in req.filters)):
                lookback = params.bind(req.time.start - LOOKUP_WINDOW, "DateTime64(6)")
                traces = where([PROJECT, f"start_time >= {lookback}", f"start_time < {end}"])
                scores = SCORED_TRACE_NAMES.format(scores=scores, preds=traces)
            table, preds = f"({scores})", ["is_deleted = 0"]
        selects = [f"{_aggregate(m, measures[m.measure], weighted)} AS {m.alias}" for m in req.metrics]
    for f in req.filters:
        preds.append(f"{dims[f.dimension]} IN {params.bind(list(f.values), 'Array(String)')}")
    group = []
    columns = []
    if granularity is not None:
        group.append(f"{bucket_of(granularity, time_col)} AS time")
        columns.append("time")
    for d in req.dimensions:
        group.append(f"{dims[d]} AS {d.value.lower()}")
        columns.append(d.value.lower())
    subtotals = req.subtotals and granularity is not None and bool(req.dimensions)
    if subtotals:
        selects.append(f"grouping({', '.join(columns[1:])}) != 0 AS subtotal")
    select = ", ".join([*group, *selects])
    group_by = f" GROUP BY {', '.join(columns)}" if columns else ""
    if subtotals:
        group_by = f" GROUP BY GROUPING SETS (({', '.join(columns)}), (time))"
    if columns and req.view is View.OBSERVATIONS:  # a group whose rows were all cancelled (rewritten) is gone
        group_by += " HAVING sum(observations) != 0" if rollup is not None else " HAVING sum(sign) != 0"
    order = f" ORDER BY {', '.join(columns)}" if columns else ""
    if req.top:
        order = f" ORDER BY {', '.join([f'{req.metrics[0].alias} DESC', *columns])}"
    sql = (
        f"SELECT {select} FROM {table}{' WHERE ' + where(preds) if preds else ''}{group_by}{order} "
        f"LIMIT {params.bind(req.limit, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, f"metrics.{source}"), granularity


def bucket_of(granularity: Granularity, column: str) -> str:
    """The SQL of a time bucket (a registry column, never input)."""
    return f"toDateTime({_BUCKET_FN[granularity]}({column}), 'UTC')"


def histogram_quantile(buckets: list[dict[str, Any]], q: float) -> float | None:
    """The upper bound of the histogram bucket holding quantile q (the buckets are ~10 % wide)."""
    total = sum(b["count"] for b in buckets)
    if not total:
        return None
    seen = 0
    for b in buckets:
        seen += b["count"]
        if seen >= q * total:
            return float(b["upper"])
    return float(buckets[-1]["upper"])


def _value(spec: MetricSpec, value: Any) -> Any:
    if spec.aggregation is Aggregation.HISTOGRAM:
        return [
            {
                "lower": round(math.expm1(b / 10), 6),
                "upper": round(math.expm1((b + 1) / 10), 6),
                "count": int(n),
            }
            for b, n in sorted((value or {}).items())
            if n
        ]
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _buckets(time: TimeRange, granularity: Granularity) -> list[datetime]:
    def floor(t: datetime) -> datetime:
        if granularity is Granularity.MINUTE:
            return t.replace(second=0, microsecond=0)
        if granularity is Granularity.HOUR:
            return t.replace(minute=0, second=0, microsecond=0)
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if granularity is Granularity.DAY:
            return day
        if granularity is Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)

    out, t = [], floor(time.start)
    while t < time.end:
        out.append(t)
        t = (
            (t + timedelta(days=32)).replace(day=1)
            if granularity is Granularity.MONTH
            else t + _STEP[granularity]
        )
    return out


async def run_metrics(ch: ClickHouse, req: MetricsRequest) -> MetricsResult:
    q, granularity = compile_metrics(req)
    rows = await ch.query(q)
    dim_names = [d.value.lower() for d in req.dimensions]
    specs = [(m, m.alias) for m in req.metrics]  # 5,000 rows x a few measures: alias once each
    out = []
    for r in rows:
        item: dict[str, Any] = {}
        if granularity is not None:
            item["time"] = utc(r["time"])
        for name in dim_names:
            item[name] = str(r[name])
        for m, alias in specs:
            item[alias] = _value(m, r[alias])
        if "subtotal" in r:
            item["subtotal"] = bool(r["subtotal"])
        out.append(item)
    if granularity is not None and req.fill_gaps:
        out = _fill(out, req, granularity, dim_names)
    columns = (["time"] if granularity is not None else []) + dim_names + [m.alias for m in req.metrics]
    served = q.tag.removeprefix("metrics.")
    return MetricsResult(columns, out, served, granularity)


def _fill(
    rows: list[dict[str, Any]], req: MetricsRequest, granularity: Granularity, dims: list[str]
) -> list[dict[str, Any]]:
    """Every bucket of the range for every dimension combination seen; missing sums are 0."""
    # Without dimensions, every bucket gets a row; with them, every combination seen.
    seen = {tuple(r[d] for d in dims) for r in rows} if dims else {()}
    have = {(r["time"], *(r[d] for d in dims)) for r in rows}
    empty: dict[str, Any] = {
        m.alias: (
            []
            if m.aggregation is Aggregation.HISTOGRAM
            else 0
            if m.aggregation in _SUMS or m.aggregation is Aggregation.UNIQ
            else None
        )
        for m in req.metrics
    }
    for t in _buckets(req.time, granularity):
        for combo in seen:
            if (t, *combo) not in have:
                rows.append({"time": t, **dict(zip(dims, combo, strict=True)), **empty})
    rows.sort(key=lambda r: (r["time"], *(r[d] for d in dims)))
    return rows[: req.limit]


__all__ = [  # the vocabulary is used through this module (mq.View, mq.Measure, …)
    "Aggregation",
    "Dimension",
    "Granularity",
    "Measure",
    "MetricSpec",
    "MetricsRequest",
    "MetricsResult",
    "View",
]
