"""Langfuse-compatible metrics reads: daily usage per model, and the v2 metrics query (JSON)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.analytics.usage import DailyUsage, UsageFilter, daily_usage
from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import READ, TIMESTAMP_PARAMS, iso, optional, project_scope
from app.errors import InvalidInput
from app.storage import json_text
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries.common import EARLIEST_TIME, TimeRange, check_time


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
    only = UsageFilter(optional(trace_name), optional(user_id), tuple(tags or ()), tuple(environment or ()))
    time = TimeRange.resolve(start, end, names=TIMESTAMP_PARAMS)
    days = await daily_usage(storage.clickhouse, project_id, time, only)
    items = [day_json(d) for d in days[(page - 1) * limit : page * limit]]
    return {"data": items, "meta": page_meta(page, limit, len(days))}


def day_json(d: DailyUsage) -> dict[str, Any]:
    """One day in Langfuse's shape."""
    return {
        "date": d.day.isoformat(),
        "countTraces": d.traces,
        "countObservations": d.observations,
        "totalCost": d.total_cost,
        "usage": [
            {
                "model": m.model,
                "inputUsage": m.input_tokens,
                "outputUsage": m.output_tokens,
                "totalUsage": m.total_tokens,
                "countTraces": m.traces,
                "countObservations": m.observations,
                "totalCost": m.total_cost,
            }
            for m in d.models
        ],
    }


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
