"""Observability pages: the home dashboard, traces, one trace, sessions and users.

Handlers read the session and the query string, build one typed request for the query layer, and
render; figures come from app.dashboards.figures. Filters live in the URL, so a view can be shared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards import figures
from app.dashboards.routes import FORM, _caller, _page, _storage
from app.errors import InvalidInput, NotFound
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TagFilter, TimeRange, lookup_range
from app.storage.clickhouse.queries.scores import scores_of
from app.storage.postgres.models import Role
from app.tracing import comments, reads, scores

RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
PAGE = 50


def _range(key: str | None) -> tuple[str, TimeRange]:
    """A preset range ending at the next whole hour (so hourly aggregates can serve it)."""
    key = key if key in RANGES else "24h"
    end = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return key, TimeRange(end - RANGES[key], end)


def _url(path: str, params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(merged, doseq=True)}" if merged else path


def pretty(value: str | None) -> str:
    """Input/output for reading: JSON indented, anything else as it is (escaped by the template)."""
    if value is None:
        return ""
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except ValueError:
        return value


def chat(value: str | None) -> list[dict[str, Any]] | None:
    """Chat messages ([{role, content}, …] or one message) for a conversation view, else None."""
    try:
        doc = json.loads(value or "")
    except ValueError:
        return None
    messages = doc if isinstance(doc, list) else [doc]
    if messages and all(isinstance(m, dict) and "role" in m for m in messages):
        return [
            {
                "role": str(m["role"]),
                "content": m.get("content")
                if isinstance(m.get("content"), str)
                else json.dumps(m.get("content"), indent=2, ensure_ascii=False),
                "tool_calls": m.get("tool_calls"),
            }
            for m in messages
        ]
    return None


@get(["/", "/dashboard"])
async def dashboard(
    request: Request[Any, Any, State], range: str | None = None, environment: str | None = None
) -> Template:
    caller = await _caller(request)
    ch = _storage(request).clickhouse
    key, time = _range(range)
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

    sums = await mq.run_metrics(
        ch,
        metrics(
            (mq.Measure.COUNT, mq.Aggregation.COUNT),
            (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
            (mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
            (mq.Measure.ERRORS, mq.Aggregation.SUM),
        ),
    )
    traces = await mq.run_metrics(ch, metrics((mq.Measure.COUNT, mq.Aggregation.COUNT), view=mq.View.TRACES))
    latency = await mq.run_metrics(
        ch,
        metrics(
            (mq.Measure.LATENCY, mq.Aggregation.P50),
            (mq.Measure.LATENCY, mq.Aggregation.P95),
            (mq.Measure.LATENCY, mq.Aggregation.P99),
            view=mq.View.TRACES,
        ),
    )
    by_model = await mq.run_metrics(
        ch,
        metrics(
            (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
            (mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
            dims=(mq.Dimension.MODEL,),
        ),
    )
    users = await mq.run_metrics(
        ch,
        metrics(
            (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
            dims=(mq.Dimension.USER,),
            granularity=None,
            fill=False,
        ),
    )
    names = await mq.run_metrics(
        ch,
        metrics(
            (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
            (mq.Measure.COUNT, mq.Aggregation.COUNT),
            dims=(mq.Dimension.TRACE_NAME,),
            granularity=None,
            fill=False,
        ),
    )
    score_rows = await mq.run_metrics(
        ch,
        metrics((mq.Measure.VALUE, mq.Aggregation.AVG), view=mq.View.SCORES, dims=(mq.Dimension.SCORE_NAME,)),
    )
    totals = {
        "observations": sum(r["count_count"] or 0 for r in sums.rows),
        "traces": sum(r["count_count"] or 0 for r in traces.rows),
        "cost": sum(r["total_cost_sum"] or 0 for r in sums.rows),
        "tokens": sum(r["total_tokens_sum"] or 0 for r in sums.rows),
        "errors": sum(r["errors_sum"] or 0 for r in sums.rows),
    }
    top_users = sorted((r for r in users.rows if r["user"]), key=lambda r: -(r["total_cost_sum"] or 0))[:10]
    top_names = sorted(names.rows, key=lambda r: -(r["total_cost_sum"] or 0))[:10]
    charts = {
        "volume": figures.time_lines(
            "Traces and observations",
            [
                {"time": a["time"], "traces": a["count_count"], "observations": b["count_count"]}
                for a, b in zip(traces.rows, sums.rows, strict=False)
            ],
            {"traces": "traces", "observations": "observations"},
        ),
        "cost": figures.stacked_by("Cost by model (USD)", by_model.rows, "model", "total_cost_sum"),
        "tokens": figures.stacked_by("Tokens by model", by_model.rows, "model", "total_tokens_sum"),
        "latency": figures.time_lines(
            "Trace latency (ms)",
            latency.rows,
            {"latency_p50": "p50", "latency_p95": "p95", "latency_p99": "p99"},
        ),
        "errors": figures.time_lines("Errors", sums.rows, {"errors_sum": "errors"}),
        "scores": figures.stacked_by("Scores (average)", score_rows.rows, "score_name", "value_avg", "group"),
    }
    return await _page(
        request,
        caller,
        "dashboard.html",
        range=key,
        ranges=list(RANGES),
        environment=environment or "",
        totals=totals,
        charts=charts,
        top_users=top_users,
        top_names=top_names,
        served=sums.served_from,
        base_url=str(request.base_url).rstrip("/"),
    )


def _trace_filter(q: dict[str, str]) -> tq.TraceFilter:
    def one(name: str) -> tuple[str, ...]:
        return (q[name],) if q.get(name) else ()

    return tq.TraceFilter(
        names=one("name"),
        user_ids=one("user"),
        session_ids=one("session"),
        environments=one("environment"),
        levels=one("level"),
        tags=TagFilter(tuple(q["tag"].split(","))) if q.get("tag") else None,
        search=q.get("search") or None,
    )


@get("/traces")
async def traces_page(request: Request[Any, Any, State]) -> Template:
    caller = await _caller(request)
    q = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    key, time = _range(q.get("range"))
    sort = q.get("sort", "TIMESTAMP")
    if sort not in tq.TraceSort.__members__:
        raise InvalidInput(f"sort must be one of {', '.join(tq.TraceSort.__members__)}")
    req = tq.TraceListRequest(
        caller.project_id,
        time,
        _trace_filter(q),
        tq.TraceSort(sort),
        q.get("order") != "asc",
        PAGE,
        q.get("after") or None,
        with_io=True,
    )
    page = await reads.list_traces(_storage(request), req, bookmarked=q.get("bookmarked") == "1")
    params = {k: v for k, v in q.items() if k != "after"}
    next_url = _url("/traces", params, after=page.end_cursor) if page.has_next else None
    return await _page(
        request,
        caller,
        "traces.html",
        traces=page.items,
        q=q,
        range=key,
        ranges=list(RANGES),
        sorts=list(tq.TraceSort.__members__),
        next_url=next_url,
        first_url=_url("/traces", params),
        base_url=str(request.base_url).rstrip("/"),
    )


@get("/traces/{trace_id:str}")
async def trace_page(request: Request[Any, Any, State], trace_id: str, obs: str | None = None) -> Template:
    caller = await _caller(request)
    detail = await reads.trace_detail(_storage(request), caller.project_id, trace_id)
    flat = []
    stack = list(reversed(detail.roots))
    while stack:
        node = stack.pop()
        flat.append(node)
        stack.extend(reversed(node.children))
    span = max([n.offset_ms + (n.duration_ms or 0) for n in flat] + [1.0])
    selected = next((n for n in flat if n.observation.id == obs), flat[0] if flat else None)
    notes = await comments.for_object(_storage(request), caller.project_id, "TRACE", trace_id)
    return await _page(
        request,
        caller,
        "trace.html",
        trace=detail.trace,
        nodes=flat,
        span_ms=span,
        selected=selected,
        scores=detail.scores,
        comments=notes,
        pretty=pretty,
        chat=chat,
        can_write=caller.role.at_least(Role.MEMBER),
    )


@dataclass
class ScoreForm:
    name: str
    value: str
    data_type: str = "NUMERIC"
    observation_id: str = ""
    comment: str = ""


@post("/traces/{trace_id:str}/scores")
async def trace_add_score(
    request: Request[Any, Any, State], trace_id: str, data: Annotated[ScoreForm, FORM]
) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.MEMBER)
    value: Any = data.value
    if data.data_type in ("NUMERIC", "BOOLEAN"):
        try:
            value = float(data.value)
        except ValueError as exc:
            raise InvalidInput("value must be a number for NUMERIC and BOOLEAN scores") from exc
    body = {
        "traceId": trace_id,
        "name": data.name,
        "value": value,
        "dataType": data.data_type,
        "source": "ANNOTATION",
        "observationId": data.observation_id or None,
        "comment": data.comment or None,
    }
    await scores.create_score(
        _storage(request), caller.project_id, {k: v for k, v in body.items() if v is not None}
    )
    return Redirect(f"/traces/{trace_id}")


@dataclass
class FlagForm:
    value: str


@post("/traces/{trace_id:str}/bookmark")
async def trace_bookmark(
    request: Request[Any, Any, State], trace_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.MEMBER)
    await reads.set_flags(_storage(request), caller.project_id, trace_id, bookmarked=data.value == "1")
    return Redirect(f"/traces/{trace_id}")


@post("/traces/{trace_id:str}/public")
async def trace_public(
    request: Request[Any, Any, State], trace_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.MEMBER)
    await reads.set_flags(_storage(request), caller.project_id, trace_id, public=data.value == "1")
    return Redirect(f"/traces/{trace_id}")


@dataclass
class CommentForm:
    content: str


@post("/traces/{trace_id:str}/comments")
async def trace_comment(
    request: Request[Any, Any, State], trace_id: str, data: Annotated[CommentForm, FORM]
) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.MEMBER)
    await comments.create(
        _storage(request), caller.project_id, "TRACE", trace_id, data.content, caller.user_id
    )
    return Redirect(f"/traces/{trace_id}")


async def _groups(request: Request[Any, Any, State], key: gq.GroupKey, template: str) -> Template:
    caller = await _caller(request)
    q = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    range_key, time = _range(q.get("range"))
    req = gq.GroupListRequest(
        caller.project_id, key, time, sort=gq.GroupSort.LAST_SEEN, first=PAGE, after=q.get("after") or None
    )
    page = await gq.list_groups(_storage(request).clickhouse, req)
    next_url = _url(request.url.path, q, after=page.end_cursor) if page.has_next else None
    return await _page(
        request,
        caller,
        template,
        groups=page.items,
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
    all_scores = await scores_of(storage.clickhouse, caller.project_id, trace_ids=tuple(t.id for t in turns))
    turn_scores = {t.id: [s for s in all_scores if s.trace_id == t.id] for t in turns}
    return await _page(
        request,
        caller,
        "session.html",
        session=found,
        turns=turns,
        turn_scores=turn_scores,
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


PAGE_ROUTES = [
    dashboard,
    traces_page,
    trace_page,
    trace_add_score,
    trace_bookmark,
    trace_public,
    trace_comment,
    sessions_page,
    users_page,
    session_page,
    user_page,
]
