"""Observability pages: the home dashboard, traces, one trace, sessions and users.

Handlers read the session and the query string, build one typed request for the query layer, and
render; figures come from app.dashboards.figures. Filters live in the URL, so a view can be shared.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from app.dashboards import figures
from app.dashboards.routes import _caller, _page, _storage
from app.errors import InvalidInput, NotFound
from app.storage import json_text
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TimeRange, lookup_range
from app.storage.clickhouse.queries.rows import ScoreView
from app.tracing import reads
from app.tracing.chat import ChatMessage, chat_messages

RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
PAGE = 50
TRACE_COLUMNS = ("input", "output", "user", "session", "latency", "tokens", "cost", "tags")


def _range(key: str | None, request: Request[Any, Any, State] | None = None) -> tuple[str, TimeRange]:
    """A preset range ending at the next whole hour (so hourly aggregates can serve it), or the custom
    `from`/`to` of the query string (ISO times, UTC unless they say otherwise)."""
    custom = {k: request.query_params.get(k) for k in ("from", "to")} if request is not None else {}
    if any(custom.values()):
        try:
            start, end = (datetime.fromisoformat(v) if v else None for v in (custom["from"], custom["to"]))
        except ValueError as exc:
            raise InvalidInput("from and to must be ISO 8601 times, e.g. 2026-11-24T09:00") from exc
        return "custom", TimeRange.resolve(start, end)
    key = key if key in RANGES else "24h"
    end = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return key, TimeRange(end - RANGES[key], end)


def _url(path: str, params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(merged, doseq=True)}" if merged else path


def number(q: dict[str, str], name: str) -> float | None:
    """An optional number of the query string; InvalidInput naming the parameter if it is not one."""
    text = (q.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number")
    return value


def prompt_url(name: str, **query: Any) -> str:
    """A prompt's page; folders stay readable (`/prompts/support/triage?version=2`)."""
    return _url(f"/prompts/{quote(name)}", query)


def pretty(value: str | None) -> str:
    """Input/output for reading: JSON indented, anything else as it is (escaped by the template)."""
    if value is None:
        return ""
    try:
        return json.dumps(json_text.loads(value), indent=2, ensure_ascii=False)
    except ValueError:
        return value


def chat(value: str | None) -> list[ChatMessage] | None:
    """Chat messages for a conversation view (see app.tracing.chat for the shapes), else None."""
    return chat_messages(value)


@dataclass
class FlagForm:
    value: str


@get(["/", "/dashboard"])
async def dashboard(
    request: Request[Any, Any, State], range: str | None = None, environment: str | None = None
) -> Template:
    caller = await _caller(request)
    ch = _storage(request).clickhouse
    key, time = _range(range, request)
    filters = (mq.DimensionFilter(mq.Dimension.ENVIRONMENT, (environment,)),) if environment else ()

    def metrics(
        *specs: tuple[mq.Measure, mq.Aggregation],
        view: mq.View = mq.View.OBSERVATIONS,
        dims: tuple[mq.Dimension, ...] = (),
        granularity: mq.Granularity | None = mq.Granularity.AUTO,
        fill: bool = True,
    ) -> mq.MetricsRequest:
        return mq.MetricsRequest(
            caller.project_id,
            view,
            tuple(mq.MetricSpec(m, a) for m, a in specs),
            time,
            dims,
            filters,
            granularity,
            fill,
        )

    # Trace counts from the trace rows, latency percentiles from the hourly histograms: the per-trace
    # aggregation of raw observations is what made this page slow on large projects. The queries are
    # independent: they run side by side (ClickHouse read lanes).
    numeric = mq.DimensionFilter(mq.Dimension.DATA_TYPE, ("NUMERIC",))
    bucket = mq.bucket_of(mq.auto_granularity(time), "timestamp")
    runs = (
        mq.run_metrics(
            ch,
            metrics(
                (mq.Measure.COUNT, mq.Aggregation.COUNT),
                (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
                (mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
                (mq.Measure.ERRORS, mq.Aggregation.SUM),
                (mq.Measure.LATENCY, mq.Aggregation.HISTOGRAM),
            ),
        ),
        mq.run_metrics(
            ch,
            metrics(
                (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
                (mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
                dims=(mq.Dimension.MODEL,),
            ),
        ),
        # The top ten by cost (eleven users: one may be the empty user, left out below).
        mq.run_metrics(
            ch,
            replace(
                metrics(
                    (mq.Measure.TOTAL_COST, mq.Aggregation.SUM), dims=(mq.Dimension.USER,), granularity=None
                ),
                top=True,
                limit=11,
            ),
        ),
        mq.run_metrics(
            ch,
            replace(
                metrics(
                    (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
                    (mq.Measure.COUNT, mq.Aggregation.COUNT),
                    dims=(mq.Dimension.TRACE_NAME,),
                    granularity=None,
                    fill=False,
                ),
                top=True,
                limit=10,
            ),
        ),
        # Averages of numeric scores only: a boolean's 0/1 or a category is no number to average.
        mq.run_metrics(
            ch,
            replace(
                metrics(
                    (mq.Measure.VALUE, mq.Aggregation.AVG),
                    view=mq.View.SCORES,
                    dims=(mq.Dimension.SCORE_NAME,),
                ),
                filters=(*filters, numeric),
            ),
        ),
    )
    (sums, by_model, users, names, score_rows), trace_counts, score_summaries = await asyncio.gather(
        asyncio.gather(*runs),
        tq.count_over_time(ch, caller.project_id, time, bucket, environment),
        sq.aggregate_score_summaries(ch, caller.project_id, time, environment),
    )
    latency_rows = [
        {
            "time": r["time"],
            **{f"p{q}": mq.histogram_quantile(r["latency_histogram"], q / 100) for q in (50, 95, 99)},
        }
        for r in sums.rows
    ]
    totals = {
        "observations": sum(r["count_count"] or 0 for r in sums.rows),
        "traces": sum(trace_counts.values()),
        "cost": sum(r["total_cost_sum"] or 0 for r in sums.rows),
        "tokens": sum(r["total_tokens_sum"] or 0 for r in sums.rows),
        "errors": sum(r["errors_sum"] or 0 for r in sums.rows),
    }
    top_users = [r for r in users.rows if r["user"]][:10]
    top_names = names.rows
    charts = {
        "volume": figures.time_lines(
            "Traces and observations",
            [
                {
                    "time": r["time"],
                    "traces": trace_counts.get(r["time"], 0),
                    "observations": r["count_count"],
                }
                for r in sums.rows
            ],
            {"traces": "traces", "observations": "observations"},
        ),
        "cost": figures.stacked_by("Cost by model (USD)", by_model.rows, "model", "total_cost_sum"),
        "tokens": figures.stacked_by("Tokens by model", by_model.rows, "model", "total_tokens_sum"),
        "latency": figures.time_lines(
            "Observation latency (ms, ~10 % buckets)",
            latency_rows,
            {"p50": "p50", "p95": "p95", "p99": "p99"},
        ),
        "errors": figures.time_lines("Errors", sums.rows, {"errors_sum": "errors"}),
        "scores": figures.stacked_by(
            "Numeric scores (average)", score_rows.rows, "score_name", "value_avg", "group"
        ),
    }
    return await _page(
        request,
        caller,
        "dashboard.html",
        range=key,
        ranges=list(RANGES),
        environment=environment or "",
        request_from=request.query_params.get("from", ""),
        request_to=request.query_params.get("to", ""),
        totals=totals,
        charts=charts,
        top_users=top_users,
        top_names=top_names,
        score_summaries=score_summaries,
        served=sums.served_from,
        base_url=str(request.base_url).rstrip("/"),
    )


async def _groups(request: Request[Any, Any, State], key: gq.GroupKey, template: str) -> Template:
    caller = await _caller(request)
    q = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    range_key, time = _range(q.get("range"), request)
    req = gq.GroupListRequest(
        caller.project_id, key, time, sort=gq.GroupSort.LAST_SEEN, first=PAGE, after=q.get("after") or None
    )
    ch = _storage(request).clickhouse
    page = await gq.list_groups(ch, req)
    next_url = _url(request.url.path, q, after=page.end_cursor) if page.has_next else None
    group_scores: dict[str, list[ScoreView]] = {}
    if key == "session_id":  # scores given to the sessions themselves
        found = await sq.scores_of(ch, caller.project_id, session_ids=tuple(g.id for g in page.items))
        for s in (s for s in found if s.trace_id is None):
            group_scores.setdefault(s.session_id or "", []).append(s)
    return await _page(
        request,
        caller,
        template,
        groups=page.items,
        group_scores=group_scores,
        range=range_key,
        ranges=list(RANGES),
        next_url=next_url,
        q=q,
    )


@get("/sessions")
async def sessions_page(request: Request[Any, Any, State]) -> Template:
    return await _groups(request, "session_id", "sessions.html")


@get("/users")
async def users_page(request: Request[Any, Any, State]) -> Template:
    return await _groups(request, "user_id", "users.html")


@get("/sessions/{session_id:str}")
async def session_page(request: Request[Any, Any, State], session_id: str) -> Template:
    caller = await _caller(request)
    storage = _storage(request)
    found = await gq.fetch_group(
        storage.clickhouse, caller.project_id, "session_id", session_id, lookup_range()
    )
    if found is None:
        raise NotFound(f"session {session_id!r} not found")
    time = TimeRange(found.first_seen - timedelta(minutes=1), found.last_seen + timedelta(minutes=1))
    req = tq.TraceListRequest(
        caller.project_id,
        time,
        tq.TraceFilter(session_ids=(session_id,)),
        descending=False,
        first=100,
        with_io=True,
    )
    turns = (await reads.list_traces(storage, req)).items
    all_scores = await sq.scores_of(
        storage.clickhouse, caller.project_id, trace_ids=tuple(t.id for t in turns)
    )
    turn_scores = {t.id: [s for s in all_scores if s.trace_id == t.id] for t in turns}
    session_scores = await sq.scores_of(storage.clickhouse, caller.project_id, session_ids=(session_id,))
    return await _page(
        request,
        caller,
        "session.html",
        session=found,
        turns=turns,
        turn_scores=turn_scores,
        session_scores=[s for s in session_scores if s.trace_id is None],
        pretty=pretty,
        chat=chat,
    )


@get("/users/{user_id:str}")
async def user_page(request: Request[Any, Any, State], user_id: str, range: str | None = None) -> Template:
    caller = await _caller(request)
    storage = _storage(request)
    key, time = _range(range or "30d")
    found = await gq.fetch_group(storage.clickhouse, caller.project_id, "user_id", user_id, time)
    usage = await mq.run_metrics(
        storage.clickhouse,
        mq.MetricsRequest(
            caller.project_id,
            mq.View.OBSERVATIONS,
            (
                mq.MetricSpec(mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
                mq.MetricSpec(mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
            ),
            time,
            filters=(mq.DimensionFilter(mq.Dimension.USER, (user_id,)),),
        ),
    )
    req = tq.TraceListRequest(caller.project_id, time, tq.TraceFilter(user_ids=(user_id,)), first=PAGE)
    traces = (await reads.list_traces(storage, req)).items
    charts = {
        "cost": figures.time_lines("Cost (USD)", usage.rows, {"total_cost_sum": "cost"}),
        "tokens": figures.time_lines("Tokens", usage.rows, {"total_tokens_sum": "tokens"}),
    }
    return await _page(
        request,
        caller,
        "user.html",
        user_id=user_id,
        found=found,
        charts=charts,
        traces=traces,
        range=key,
        ranges=list(RANGES),
    )


PAGE_ROUTES = [dashboard, sessions_page, users_page, session_page, user_page]
