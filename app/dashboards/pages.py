"""Observability pages: the home dashboard, traces, one trace, sessions and users.

Handlers read the session and the query string, build one typed request for the query layer, and
render; figures come from app.dashboards.figures. Filters live in the URL, so a view can be shared.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Stream, Template

from app.auth.signing import server_secret
from app.dashboards import figures
from app.dashboards.routes import FORM, _caller, _page, _storage
from app.errors import InvalidInput, NotFound
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TagFilter, TimeRange, lookup_range
from app.storage.clickhouse.queries.rows import TraceView
from app.storage.clickhouse.queries.scores import scores_of
from app.storage.postgres import model_definitions as model_repo
from app.storage.postgres import score_configs as score_config_repo
from app.storage.postgres.models import Role
from app.tracing import comments, media, model_catalog, reads, score_configs, scores

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

    sums = await mq.run_metrics(
        ch,
        metrics(
            (mq.Measure.COUNT, mq.Aggregation.COUNT),
            (mq.Measure.TOTAL_COST, mq.Aggregation.SUM),
            (mq.Measure.TOTAL_TOKENS, mq.Aggregation.SUM),
            (mq.Measure.ERRORS, mq.Aggregation.SUM),
        ),
    )
    # Trace counts from the trace rows, latency percentiles from the hourly histograms: the per-trace
    # aggregation of raw observations is what made this page slow on large projects.
    granularity = sums.granularity or mq.Granularity.HOUR
    trace_counts = await tq.count_over_time(
        ch, caller.project_id, time, mq.bucket_of(granularity, "timestamp"), environment
    )
    latency = await mq.run_metrics(ch, metrics((mq.Measure.LATENCY, mq.Aggregation.HISTOGRAM)))
    latency_rows = [
        {
            "time": r["time"],
            **{f"p{q}": mq.histogram_quantile(r["latency_histogram"], q / 100) for q in (50, 95, 99)},
        }
        for r in latency.rows
    ]
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
        "traces": sum(trace_counts.values()),
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
        "scores": figures.stacked_by("Scores (average)", score_rows.rows, "score_name", "value_avg", "group"),
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
    key, time = _range(q.get("range"), request)
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
    chosen = [c for c in request.query_params.getall("cols", []) if c in TRACE_COLUMNS]
    params: dict[str, Any] = {k: v for k, v in q.items() if k not in ("after", "cols")}
    params["cols"] = chosen
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
        export_url=_url("/traces/export", {**params, "range": key, "cols": None}),
        columns=TRACE_COLUMNS,
        shown=chosen or list(TRACE_COLUMNS),
        base_url=str(request.base_url).rstrip("/"),
    )


EXPORT_COLUMNS = (
    "id",
    "timestamp",
    "name",
    "user_id",
    "session_id",
    "environment",
    "release",
    "version",
    "tags",
    "latency_ms",
    "total_cost",
    "total_tokens",
    "observation_count",
    "input",
    "output",
)
EXPORT_MAX_ROWS = 100_000
EXPORT_PAGE = 1_000


def _export_row(t: TraceView) -> dict[str, Any]:
    return {
        "id": t.id,
        "timestamp": t.timestamp.isoformat(),
        "name": t.name,
        "user_id": t.user_id,
        "session_id": t.session_id,
        "environment": t.environment,
        "release": t.release,
        "version": t.version,
        "tags": t.tags,
        "latency_ms": t.totals.latency_ms,
        "total_cost": float(t.totals.total_cost),
        "total_tokens": t.totals.total_tokens,
        "observation_count": t.totals.observation_count,
        "input": t.input,
        "output": t.output,
    }


@get("/traces/export")
async def traces_export(request: Request[Any, Any, State], format: str = "csv") -> Stream:
    """The filtered traces (the list's query string), streamed page by page as CSV or a JSON array."""
    caller = await _caller(request)
    if format not in ("csv", "json"):
        raise InvalidInput("format must be csv or json")
    q = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    _, time = _range(q.get("range"), request)
    storage = _storage(request)
    base = tq.TraceListRequest(caller.project_id, time, _trace_filter(q), first=EXPORT_PAGE, with_io=True)
    bookmarked = q.get("bookmarked") == "1"

    async def rows() -> AsyncIterator[dict[str, Any]]:
        after, sent = None, 0
        while sent < EXPORT_MAX_ROWS:
            page = await reads.list_traces(storage, replace(base, after=after), bookmarked=bookmarked)
            for t in page.items:
                yield _export_row(t)
            sent += len(page.items)
            if not page.has_next:
                return
            after = page.end_cursor

    async def as_csv() -> AsyncIterator[bytes]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        async for row in rows():
            writer.writerow({**row, "tags": ",".join(row["tags"])})
            if out.tell() > 64_000:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        yield out.getvalue().encode()

    async def as_json() -> AsyncIterator[bytes]:
        yield b"["
        first = True
        async for row in rows():
            yield (b"" if first else b",\n") + json.dumps(row, ensure_ascii=False).encode()
            first = False
        yield b"]\n"

    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Stream(
        as_csv() if format == "csv" else as_json(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="traces.{format}"'},
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
    graph = _agent_graph(detail.roots)
    notes = await comments.for_object(_storage(request), caller.project_id, "TRACE", trace_id)
    attachments = []
    if selected is not None:  # media the selected observation references, shown inline
        secret = server_secret(_storage(request).settings)
        for value in (selected.observation.input, selected.observation.output):
            for content_type, media_id in media.references(value):
                url = media.content_url(secret, caller.project_id, media_id)
                attachments.append({"type": content_type, "url": url, "id": media_id})
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
        attachments=attachments,
        graph=graph,
        pretty=pretty,
        chat=chat,
        can_write=caller.role.at_least(Role.MEMBER),
    )


GRAPH_TYPES = {"AGENT", "TOOL", "CHAIN", "RETRIEVER", "GENERATION"}


def _agent_graph(roots: list[reads.ObservationNode]) -> str | None:
    """The agent graph of a trace with agents or tools: those observations (and chains, retrievers,
    generations), each linked to its nearest such ancestor. None for traces without agents or tools."""
    nodes: list[tuple[str, str, str]] = []
    edges: list[tuple[str, str]] = []
    stack: list[tuple[reads.ObservationNode, str | None, int]] = [(r, None, 0) for r in reversed(roots)]
    while stack:
        node, parent, layer = stack.pop()
        o = node.observation
        if o.type in GRAPH_TYPES:
            nodes.append((o.id, f"{o.type.lower()}: {o.name}", str(layer)))
            if parent is not None:
                edges.append((parent, o.id))
            parent, layer = o.id, layer + 1
        stack.extend((c, parent, layer) for c in reversed(node.children))
    if not any(label.startswith(("agent:", "tool:")) for _, label, _ in nodes):
        return None
    return figures.agent_graph(nodes, edges)


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
    range_key, time = _range(q.get("range"), request)
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


@get("/scores")
async def scores_page(request: Request[Any, Any, State], range: str | None = None) -> Template:
    caller = await _caller(request)
    storage = _storage(request)
    key, time = _range(range or "7d")

    def run(
        spec: tuple[mq.Measure, mq.Aggregation],
        dims: tuple[mq.Dimension, ...],
        granularity: mq.Granularity | None,
    ) -> Any:
        return mq.run_metrics(
            storage.clickhouse,
            mq.MetricsRequest(
                caller.project_id,
                mq.View.SCORES,
                (mq.MetricSpec(*spec),),
                time,
                dims,
                (),
                granularity,
                bool(granularity),
            ),
        )

    counts = await run(
        (mq.Measure.COUNT, mq.Aggregation.COUNT), (mq.Dimension.SCORE_NAME, mq.Dimension.DATA_TYPE), None
    )
    histograms = await run((mq.Measure.VALUE, mq.Aggregation.HISTOGRAM), (mq.Dimension.SCORE_NAME,), None)
    categories = await run(
        (mq.Measure.COUNT, mq.Aggregation.COUNT), (mq.Dimension.SCORE_NAME, mq.Dimension.STRING_VALUE), None
    )
    over_time = await run(
        (mq.Measure.VALUE, mq.Aggregation.AVG), (mq.Dimension.SCORE_NAME,), mq.Granularity.AUTO
    )
    charts = {
        "over-time": figures.time_lines_by(
            "Average value over time", over_time.rows, "score_name", "value_avg"
        )
    }
    for r in histograms.rows:
        kinds = {c["data_type"] for c in counts.rows if c["score_name"] == r["score_name"]}
        if kinds & {"NUMERIC", "BOOLEAN"}:
            charts[f"hist-{len(charts)}"] = figures.histogram(
                f"{r['score_name']}: distribution", r["value_histogram"]
            )
    by_name: dict[str, dict[str, int]] = {}
    for r in categories.rows:
        if r["string_value"]:
            by_name.setdefault(r["score_name"], {})[r["string_value"]] = r["count_count"]
    for name, values in by_name.items():
        charts[f"cat-{len(charts)}"] = figures.bars(
            f"{name}: categories", list(values), list(values.values())
        )
    configs = await score_config_repo.list_score_configs(storage.postgres, caller.project_id, 200, 0)
    return await _page(
        request,
        caller,
        "scores.html",
        counts=counts.rows,
        charts=charts,
        configs=configs,
        range=key,
        ranges=list(RANGES),
        can_write=caller.role.at_least(Role.MEMBER),
    )


@dataclass
class ScoreConfigForm:
    name: str
    data_type: str
    min_value: str = ""
    max_value: str = ""
    categories: str = ""
    description: str = ""


@post("/scores/configs")
async def score_config_create(
    request: Request[Any, Any, State], data: Annotated[ScoreConfigForm, FORM]
) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.MEMBER)

    def number(text: str, field: str) -> float | None:
        try:
            return float(text) if text.strip() else None
        except ValueError as exc:
            raise InvalidInput(f"{field} must be a number") from exc

    labels = [c.strip() for c in data.categories.split(",") if c.strip()]
    body = {
        "name": data.name,
        "dataType": data.data_type,
        "description": data.description or None,
        "minValue": number(data.min_value, "minValue"),
        "maxValue": number(data.max_value, "maxValue"),
        "categories": [{"value": i, "label": label} for i, label in enumerate(labels)] or None,
    }
    await score_configs.create(_storage(request), caller.project_id, body)
    return Redirect("/scores")


@post("/scores/configs/{config_id:str}/archive")
async def score_config_archive(
    request: Request[Any, Any, State], config_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.MEMBER)
    await score_configs.update(
        _storage(request), caller.project_id, config_id, {"isArchived": data.value == "1"}
    )
    return Redirect("/scores")


@get("/settings/models")
async def models_page(request: Request[Any, Any, State]) -> Template:
    caller = await _caller(request)
    storage = _storage(request)
    own = [model_catalog.to_api(m) for m in await model_repo.list_models(storage.postgres, caller.project_id)]
    return await _page(
        request,
        caller,
        "models.html",
        own=own,
        builtins=model_catalog.builtins_api(),
        can_write=caller.role.at_least(Role.ADMIN),
    )


@dataclass
class ModelForm:
    model_name: str
    match_pattern: str
    input_price: str = ""
    output_price: str = ""


@post("/settings/models")
async def model_create(request: Request[Any, Any, State], data: Annotated[ModelForm, FORM]) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.ADMIN)
    body: dict[str, Any] = {
        "modelName": data.model_name,
        "matchPattern": data.match_pattern,
        "unit": "TOKENS",
    }
    for field, text in (("inputPrice", data.input_price), ("outputPrice", data.output_price)):
        if text.strip():
            body[field] = text.strip()
    await model_catalog.create(_storage(request), caller.project_id, body)
    return Redirect("/settings/models")


@post("/settings/models/{model_id:str}/delete")
async def model_delete(request: Request[Any, Any, State], model_id: str) -> Redirect:
    caller = await _caller(request)
    caller.require(Role.ADMIN)
    await model_catalog.delete(_storage(request), caller.project_id, model_id)
    return Redirect("/settings/models")


PAGE_ROUTES = [
    dashboard,
    traces_page,
    traces_export,
    trace_page,
    trace_add_score,
    trace_bookmark,
    trace_public,
    trace_comment,
    sessions_page,
    users_page,
    session_page,
    user_page,
    scores_page,
    score_config_create,
    score_config_archive,
    models_page,
    model_create,
    model_delete,
]
