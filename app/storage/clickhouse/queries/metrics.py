"""The metrics layer: views, dimensions, measures and aggregations compiled to one GROUP BY query.

A query over the observations view is served from the `observations_hourly` materialised view when
it fits it (its dimensions and filters are columns of the view, its measures are sums the view
keeps, its time range starts and ends on whole hours, buckets are an hour or longer); otherwise
from the raw rows. Both paths compute the same sign-weighted sums, so they give the same numbers.
Percentiles, min/max and distinct counts always read the raw rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, assert_never

from app.errors import InvalidInput
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import PROJECT, Params, TimeRange, where
from app.storage.clickhouse.queries.rows import utc
from app.storage.clickhouse.query import CompiledQuery

MAX_ROWS = 5_000
MAX_BUCKETS = 2_000


class View(StrEnum):
    OBSERVATIONS = "OBSERVATIONS"
    TRACES = "TRACES"
    SCORES = "SCORES"


class Dimension(StrEnum):
    NAME = "NAME"
    TYPE = "TYPE"
    MODEL = "MODEL"
    USER = "USER"
    SESSION = "SESSION"
    ENVIRONMENT = "ENVIRONMENT"
    RELEASE = "RELEASE"
    VERSION = "VERSION"
    LEVEL = "LEVEL"
    TAG = "TAG"
    TRACE_NAME = "TRACE_NAME"
    PROMPT_NAME = "PROMPT_NAME"
    PROMPT_VERSION = "PROMPT_VERSION"
    SCORE_NAME = "SCORE_NAME"
    SOURCE = "SOURCE"
    DATA_TYPE = "DATA_TYPE"
    STRING_VALUE = "STRING_VALUE"


class Measure(StrEnum):
    COUNT = "COUNT"
    LATENCY = "LATENCY"
    TOTAL_COST = "TOTAL_COST"
    INPUT_COST = "INPUT_COST"
    OUTPUT_COST = "OUTPUT_COST"
    INPUT_TOKENS = "INPUT_TOKENS"
    OUTPUT_TOKENS = "OUTPUT_TOKENS"
    TOTAL_TOKENS = "TOTAL_TOKENS"
    ERRORS = "ERRORS"
    VALUE = "VALUE"
    TRACES = "TRACES"
    USERS = "USERS"
    SESSIONS = "SESSIONS"


class Aggregation(StrEnum):
    COUNT = "COUNT"
    SUM = "SUM"
    AVG = "AVG"
    MIN = "MIN"
    MAX = "MAX"
    P50 = "P50"
    P90 = "P90"
    P95 = "P95"
    P99 = "P99"
    UNIQ = "UNIQ"
    HISTOGRAM = "HISTOGRAM"


class Granularity(StrEnum):
    AUTO = "AUTO"
    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


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


@dataclass(slots=True)
class MetricsResult:
    columns: list[str]
    rows: list[dict[str, Any]]
    served_from: str  # "observations_hourly" or the raw table
    granularity: Granularity | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# Registries: the only place column expressions come from.
_OBS_DIMENSIONS = {
    Dimension.NAME: "name",
    Dimension.TYPE: "toString(type)",
    Dimension.MODEL: "ifNull(provided_model_name, '')",
    Dimension.USER: "ifNull(user_id, '')",
    Dimension.SESSION: "ifNull(session_id, '')",
    Dimension.ENVIRONMENT: "toString(environment)",
    Dimension.RELEASE: "ifNull(release, '')",
    Dimension.VERSION: "ifNull(version, '')",
    Dimension.LEVEL: "toString(level)",
    Dimension.TAG: "arrayJoin(if(empty(tags), [''], tags))",
    Dimension.TRACE_NAME: "ifNull(trace_name, '')",
    Dimension.PROMPT_NAME: "ifNull(prompt_name, '')",
    Dimension.PROMPT_VERSION: "toString(ifNull(prompt_version, 0))",
}
_OBS_MEASURES = {  # per-row value, sign not applied
    Measure.COUNT: "1",
    Measure.LATENCY: "ifNull(latency_ms, 0)",
    Measure.TOTAL_COST: "toFloat64(ifNull(total_cost, 0))",
    Measure.INPUT_COST: "toFloat64(cost_details['input'])",
    Measure.OUTPUT_COST: "toFloat64(cost_details['output'])",
    Measure.INPUT_TOKENS: "toInt64(usage_details['input'])",
    Measure.OUTPUT_TOKENS: "toInt64(usage_details['output'])",
    Measure.TOTAL_TOKENS: "toInt64(usage_details['total'])",
    Measure.ERRORS: "toInt64(level = 'ERROR')",
    Measure.TRACES: "trace_id",
    Measure.USERS: "user_id",
    Measure.SESSIONS: "session_id",
}
# The same measures over observations_hourly (sums only; latency_us is microseconds).
_HOURLY_DIMENSIONS = {
    Dimension.NAME: "name",
    Dimension.TYPE: "toString(type)",
    Dimension.MODEL: "model",
    Dimension.ENVIRONMENT: "toString(environment)",
}
_HOURLY_SUMS = {
    Measure.COUNT: "sum(observations)",
    Measure.LATENCY: "sum(latency_us) / 1000",
    Measure.TOTAL_COST: "toFloat64(sum(total_cost))",
    Measure.INPUT_COST: "toFloat64(sumMap(cost)['input'])",
    Measure.OUTPUT_COST: "toFloat64(sumMap(cost)['output'])",
    Measure.INPUT_TOKENS: "sumMap(usage)['input']",
    Measure.OUTPUT_TOKENS: "sumMap(usage)['output']",
    Measure.TOTAL_TOKENS: "sumMap(usage)['total']",
    Measure.ERRORS: "sum(errors)",
}
_TRACE_DIMENSIONS = {
    Dimension.NAME: "name",
    Dimension.USER: "user",
    Dimension.SESSION: "session",
    Dimension.ENVIRONMENT: "environment",
    Dimension.RELEASE: "release",
    Dimension.VERSION: "version",
    Dimension.TAG: "arrayJoin(if(empty(tags), [''], tags))",
}
_TRACE_MEASURES = {
    Measure.COUNT: "1",
    Measure.LATENCY: "latency_ms",
    Measure.TOTAL_COST: "total_cost",
    Measure.INPUT_TOKENS: "input_tokens",
    Measure.OUTPUT_TOKENS: "output_tokens",
    Measure.TOTAL_TOKENS: "total_tokens",
    Measure.ERRORS: "errors",
    Measure.USERS: "user",
    Measure.SESSIONS: "session",
}
_SCORE_DIMENSIONS = {
    Dimension.SCORE_NAME: "name",
    Dimension.NAME: "name",
    Dimension.SOURCE: "toString(source)",
    Dimension.DATA_TYPE: "toString(data_type)",
    Dimension.STRING_VALUE: "ifNull(string_value, '')",
    Dimension.ENVIRONMENT: "toString(environment)",
}
_SCORE_MEASURES = {
    Measure.COUNT: "1",
    Measure.VALUE: "ifNull(value, 0)",
    Measure.TRACES: "trace_id",
    Measure.SESSIONS: "session_id",
}
# Per-trace rows for the traces view (trace attributes are denormalised onto every observation).
_TRACE_ROWS = (
    "SELECT trace_id, min(start_time) AS trace_start, "
    "argMaxIf(ifNull(trace_name, ''), start_time, sign = 1) AS name, "
    "argMaxIf(ifNull(user_id, ''), start_time, sign = 1) AS user, "
    "argMaxIf(ifNull(session_id, ''), start_time, sign = 1) AS session, "
    "argMaxIf(toString(environment), start_time, sign = 1) AS environment, "
    "argMaxIf(ifNull(release, ''), start_time, sign = 1) AS release, "
    "argMaxIf(ifNull(version, ''), start_time, sign = 1) AS version, "
    "groupUniqArrayArrayIf(tags, sign = 1) AS tags, "
    "(toUnixTimestamp64Micro(maxIf(ifNull(end_time, start_time), sign = 1)) "
    "- toUnixTimestamp64Micro(minIf(start_time, sign = 1))) / 1000.0 AS latency_ms, "
    "sum(toFloat64(ifNull(total_cost, 0)) * sign) AS total_cost, "
    "sum(toInt64(usage_details['input']) * sign) AS input_tokens, "
    "sum(toInt64(usage_details['output']) * sign) AS output_tokens, "
    "sum(toInt64(usage_details['total']) * sign) AS total_tokens, "
    "sum(toInt64(level = 'ERROR') * sign) AS errors "
    "FROM observations WHERE {preds} GROUP BY trace_id HAVING sum(sign) > 0"
)


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
        return _OBS_DIMENSIONS, _OBS_MEASURES
    if view is View.TRACES:
        return _TRACE_DIMENSIONS, _TRACE_MEASURES
    if view is View.SCORES:
        return _SCORE_DIMENSIONS, _SCORE_MEASURES
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


def _hourly_fits(req: MetricsRequest, granularity: Granularity | None) -> bool:
    if req.view is not View.OBSERVATIONS:
        return False
    if granularity in (Granularity.MINUTE,):
        return False
    if any(t.minute or t.second or t.microsecond for t in (req.time.start, req.time.end)):
        return False
    dims = (*req.dimensions, *(f.dimension for f in req.filters))
    if any(d not in _HOURLY_DIMENSIONS for d in dims):
        return False
    for m in req.metrics:
        sums = m.aggregation in _SUMS and m.measure in _HOURLY_SUMS
        latency_histogram = m.measure is Measure.LATENCY and m.aggregation is Aggregation.HISTOGRAM
        if not (sums or latency_histogram):
            return False
    return True


def _hourly_aggregate(spec: MetricSpec) -> str:
    if spec.aggregation is Aggregation.HISTOGRAM:
        return "sumMap(latency_buckets)"
    total = _HOURLY_SUMS[spec.measure]
    if spec.aggregation is Aggregation.AVG:
        return f"{total} / nullIf(sum(observations), 0)"
    if spec.aggregation is Aggregation.COUNT:
        return "sum(observations)"
    return total


def compile_metrics(req: MetricsRequest) -> tuple[CompiledQuery, Granularity | None]:
    granularity = _validate(req)
    params = Params(req.project_id)
    start, end = params.bind(req.time.start, "DateTime64(6)"), params.bind(req.time.end, "DateTime64(6)")
    if _hourly_fits(req, granularity):
        dims, time_col, table = _HOURLY_DIMENSIONS, "hour", "observations_hourly"
        preds = [PROJECT, f"hour >= {start}", f"hour < {end}"]
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
            table = f"({_TRACE_ROWS.format(preds=inner)})"
            preds = []
        else:
            time_col, source = "timestamp", "scores"
            table = (
                f"(SELECT * FROM scores WHERE {PROJECT} AND timestamp >= {start} AND timestamp < {end} "
                "ORDER BY event_ts DESC LIMIT 1 BY id)"
            )
            preds = ["is_deleted = 0"]
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
    select = ", ".join([*group, *selects])
    group_by = f" GROUP BY {', '.join(columns)}" if columns else ""
    order = f" ORDER BY {', '.join(columns)}" if columns else ""
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
    out = []
    for r in rows:
        item: dict[str, Any] = {}
        if granularity is not None:
            item["time"] = utc(r["time"])
        for name in dim_names:
            item[name] = str(r[name])
        for m in req.metrics:
            item[m.alias] = _value(m, r[m.alias])
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
