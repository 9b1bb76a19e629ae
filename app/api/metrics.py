"""Langfuse-compatible metrics reads: daily usage per model, and the v2 metrics query (JSON)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import READ, TIMESTAMP_PARAMS, iso, optional, project_scope
from app.errors import InvalidInput
from app.storage import json_text
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries.common import EARLIEST_TIME, TimeRange, check_time

_DAILY = (
    mq.MetricSpec(mq.Measure.COUNT, mq.Aggregation.COUNT),
    mq.MetricSpec(mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.INPUT_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.OUTPUT_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
    mq.MetricSpec(mq.Measure.TRACES, mq.Aggregation.UNIQ),
)


@get("/metrics/daily", opt=READ.opt)
async def metrics_daily(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    trace_name: Annotated[str | None, Parameter(query="traceName")] = None,
    user_id: Annotated[str | None, Parameter(query="userId")] = None,
    tags: list[str] | None = None,
    environment: list[str] | None = None,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
) -> dict[str, Any]:
    """Per day (newest first): traces, observations, cost, and usage per model (Langfuse's shape)."""
    storage, project_id = project_scope(request)
    end = check_time(to_timestamp, "toTimestamp") if to_timestamp else datetime.now(UTC)
    # Without a start, the days up to this page's last, as far back as one query's buckets reach.
    start = from_timestamp or max(end - timedelta(days=min(page * limit, mq.MAX_BUCKETS - 1)), EARLIEST_TIME)
    filters = [
        mq.DimensionFilter(d, tuple(v))
        for d, v in (
            (mq.Dimension.TRACE_NAME, optional(trace_name)),
            (mq.Dimension.USER, optional(user_id)),
            (mq.Dimension.TAG, tuple(tags or ())),
            (mq.Dimension.ENVIRONMENT, tuple(environment or ())),
        )
        if v
    ]
    time, daily = TimeRange.resolve(start, end, names=TIMESTAMP_PARAMS), mq.Granularity.DAY
    by_model = await mq.run_metrics(
        storage.clickhouse,
        mq.MetricsRequest(
            project_id,
            mq.View.OBSERVATIONS,
            _DAILY,
            time,
            (mq.Dimension.MODEL,),
            tuple(filters),
            daily,
            False,
        ),
    )
    unique_traces = (mq.MetricSpec(mq.Measure.TRACES, mq.Aggregation.UNIQ),)
    traces = await mq.run_metrics(
        storage.clickhouse,
        mq.MetricsRequest(
            project_id, mq.View.OBSERVATIONS, unique_traces, time, (), tuple(filters), daily, False
        ),
    )
    days = _days(traces.rows, by_model.rows)
    ordered = [d for _, d in sorted(days.items(), reverse=True) if d["countTraces"] or d["countObservations"]]
    items = ordered[(page - 1) * limit : page * limit]
    return {"data": items, "meta": page_meta(page, limit, len(ordered))}


def _days(traces: list[dict[str, Any]], by_model: list[dict[str, Any]]) -> dict[date, dict[str, Any]]:
    """Langfuse's daily entries from the traces per day and the usage per day and model."""
    days: dict[date, dict[str, Any]] = {}
    for r in traces:
        days[r["time"].date()] = {
            "date": r["time"].date().isoformat(),
            "countTraces": r["traces_uniq"],
            "countObservations": 0,
            "totalCost": 0.0,
            "usage": [],
        }
    for r in by_model:
        day = days.setdefault(
            r["time"].date(),
            {
                "date": r["time"].date().isoformat(),
                "countTraces": 0,
                "countObservations": 0,
                "totalCost": 0.0,
                "usage": [],
            },
        )
        day["countObservations"] += r["count_count"]
        day["totalCost"] += r["total_cost_sum"] or 0.0
        day["usage"].append(
            {
                "model": r["model"] or None,
                "inputUsage": r["input_tokens_sum"],
                "outputUsage": r["output_tokens_sum"],
                "totalUsage": r["total_tokens_sum"],
                "countTraces": r["traces_uniq"],
                "countObservations": r["count_count"],
                "totalCost": r["total_cost_sum"],
            }
        )
    return days


@get("/v2/metrics", opt=READ.opt)
async def metrics_v2(
    request: Request[Any, Any, State], query_json: Annotated[str, Parameter(query="query")]
) -> dict[str, Any]:
    """`query` is JSON: {view, metrics: [{measure, aggregation}], dimensions: [{field}], filters:
    [{column, operator: "any of"|"=", value}], timeDimension: {granularity}, fromTimestamp, toTimestamp}."""
    storage, project_id = project_scope(request)
    req = metrics_request(project_id, query_json)
    result = await mq.run_metrics(storage.clickhouse, req)
    return {
        "data": [{k: (iso(v) if isinstance(v, datetime) else v) for k, v in r.items()} for r in result.rows]
    }


_V2_NAMES = {
    "observations": mq.View.OBSERVATIONS,
    "traces": mq.View.TRACES,
    "scores-numeric": mq.View.SCORES,
    "scores-categorical": mq.View.SCORES,
    "scores": mq.View.SCORES,
}


def metrics_request(project_id: str, text: str) -> mq.MetricsRequest:
    """Parse a v2 metrics query (Langfuse's JSON names, or ours) into a MetricsRequest."""
    try:
        doc = json_text.loads(text)
    except ValueError as exc:
        raise InvalidInput("query must be JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("query must be a JSON object")

    view_name = str(doc.get("view", "")).lower()
    view = _V2_NAMES.get(view_name) or _enum(mq.View, view_name, "view")
    metrics = tuple(
        mq.MetricSpec(
            _enum(mq.Measure, m.get("measure"), "metrics.measure"),
            _enum(mq.Aggregation, m.get("aggregation"), "metrics.aggregation"),
        )
        for m in doc.get("metrics") or []
        if isinstance(m, dict)
    )
    dimensions = tuple(
        _enum(mq.Dimension, d.get("field") if isinstance(d, dict) else d, "dimensions")
        for d in doc.get("dimensions") or []
    )
    filters = []
    for f in doc.get("filters") or []:
        if not isinstance(f, dict):
            raise InvalidInput("filters: each filter must be an object")
        value = f.get("value")
        values = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
        filters.append(mq.DimensionFilter(_enum(mq.Dimension, f.get("column"), "filters.column"), values))
    granularity = (
        (doc.get("timeDimension") or {}).get("granularity")
        if isinstance(doc.get("timeDimension"), dict)
        else None
    )
    time = TimeRange.resolve(
        _parse_time(doc.get("fromTimestamp"), "fromTimestamp"),
        _parse_time(doc.get("toTimestamp"), "toTimestamp"),
        names=TIMESTAMP_PARAMS,
    )
    return mq.MetricsRequest(
        project_id,
        view,
        metrics,
        time,
        dimensions,
        tuple(filters),
        _enum(mq.Granularity, granularity, "timeDimension.granularity") if granularity else None,
        fill_gaps=False,
        limit=min(int(doc.get("limit") or 1000), mq.MAX_ROWS),
    )


# Langfuse's names of measures and dimensions, upper-cased without separators, to ours.
_ALIASES = {
    "TOTALCOST": "TOTAL_COST",
    "INPUTTOKENS": "INPUT_TOKENS",
    "OUTPUTTOKENS": "OUTPUT_TOKENS",
    "TOTALTOKENS": "TOTAL_TOKENS",
    "USERID": "USER",
    "SESSIONID": "SESSION",
    "PROVIDEDMODELNAME": "MODEL",
    "TRACENAME": "TRACE_NAME",
    "TAGS": "TAG",
    "PROMPTNAME": "PROMPT_NAME",
    "LATENCY_MS": "LATENCY",
    "COUNT": "COUNT",
}


def _enum(kind: type[Any], value: Any, where: str) -> Any:
    key = str(value).upper().replace("-", "_")
    key = _ALIASES.get(key.replace("_", ""), key)
    try:
        return kind(key)
    except ValueError as exc:
        raise InvalidInput(f"{where}: unknown value {value!r}") from exc


def _parse_time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{field}: not an ISO 8601 time: {value!r}") from exc


METRICS_ROUTES = [metrics_daily, metrics_v2]
