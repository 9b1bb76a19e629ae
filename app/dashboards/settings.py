"""Score analytics with score configs, and model prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards import figures
from app.dashboards.pages import PAGE, RANGES, FlagForm, _range, _url, number
from app.dashboards.routes import FORM, _caller, _page, _storage
from app.errors import InvalidInput
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import NumberRange
from app.storage.postgres import model_definitions as model_repo
from app.storage.postgres import score_configs as score_config_repo
from app.storage.postgres.models import Role
from app.tracing import model_catalog, score_configs, scores


@get("/scores")
async def scores_page(request: Request[Any, Any, State], range: str | None = None) -> Template:
    caller = await _caller(request)
    storage = _storage(request)
    key, time = _range(range or "7d")

    def run(
        specs: tuple[tuple[mq.Measure, mq.Aggregation], ...],
        dims: tuple[mq.Dimension, ...],
        granularity: mq.Granularity | None,
        data_types: tuple[str, ...],
    ) -> Any:
        return mq.run_metrics(
            storage.clickhouse,
            mq.MetricsRequest(
                caller.project_id,
                mq.View.SCORES,
                tuple(mq.MetricSpec(*spec) for spec in specs),
                time,
                dims,
                (mq.DimensionFilter(mq.Dimension.DATA_TYPE, data_types),),
                granularity,
                bool(granularity),
            ),
        )

    # Each data type summed up as it allows: numbers averaged, booleans as a share of True,
    # categories counted; a name used with two types gives two rows, never one mixed average.
    summaries = await sq.aggregate_score_summaries(storage.clickhouse, caller.project_id, time)
    kinds = {s.data_type for s in summaries}
    avg, count = (mq.Measure.VALUE, mq.Aggregation.AVG), (mq.Measure.COUNT, mq.Aggregation.COUNT)
    over_time = await run((avg,), (mq.Dimension.SCORE_NAME,), mq.Granularity.AUTO, ("NUMERIC",))
    charts = {
        "over-time": figures.time_lines_by(
            "Numeric scores: average over time", over_time.rows, "score_name", "value_avg"
        )
    }
    if "BOOLEAN" in kinds:
        shares = await run((avg,), (mq.Dimension.SCORE_NAME,), mq.Granularity.AUTO, ("BOOLEAN",))
        charts["true-share"] = figures.time_lines_by(
            "Boolean scores: share True over time", shares.rows, "score_name", "value_avg"
        )
    if "NUMERIC" in kinds:
        histograms = await run(
            ((mq.Measure.VALUE, mq.Aggregation.HISTOGRAM),), (mq.Dimension.SCORE_NAME,), None, ("NUMERIC",)
        )
        for r in histograms.rows:
            charts[f"hist-{len(charts)}"] = figures.histogram(
                f"{r['score_name']}: distribution", r["value_histogram"]
            )
    for summary in summaries:
        if summary.data_type == "BOOLEAN":
            charts[f"bool-{len(charts)}"] = figures.bars(
                f"{summary.name}: True / False",
                ["True", "False"],
                [summary.true_count, summary.count - summary.true_count],
            )
        elif summary.data_type == "CATEGORICAL" and summary.categories:
            charts[f"cat-{len(charts)}"] = figures.bars(
                f"{summary.name}: categories",
                [c for c, _ in summary.categories],
                [n for _, n in summary.categories],
            )
    by_trace = _by_trace_name(
        await run(
            (avg, count),
            (mq.Dimension.SCORE_NAME, mq.Dimension.DATA_TYPE, mq.Dimension.TRACE_NAME),
            None,
            ("NUMERIC", "BOOLEAN"),
        ),
        await run(
            (count,),
            (
                mq.Dimension.SCORE_NAME,
                mq.Dimension.DATA_TYPE,
                mq.Dimension.TRACE_NAME,
                mq.Dimension.STRING_VALUE,
            ),
            None,
            ("CATEGORICAL",),
        ),
    )
    configs = await score_config_repo.list_score_configs(storage.postgres, caller.project_id, 200, 0)
    return await _page(
        request,
        caller,
        "scores.html",
        score_summaries=summaries,
        charts=charts,
        by_trace=by_trace,
        configs=configs,
        range=key,
        ranges=list(RANGES),
        can_write=caller.role.at_least(Role.MEMBER),
    )


@get("/scores/list")
async def score_list_page(request: Request[Any, Any, State]) -> Template:
    """Scores one by one, newest first, filtered by the query string; keyset pages."""
    caller = await _caller(request)
    q = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    key, time = _range(q.get("range") or "7d", request)
    for field, allowed in (("source", scores.SOURCES), ("data_type", scores.DATA_TYPES)):
        if q.get(field) and q[field] not in allowed:
            raise InvalidInput(f"{field} must be one of {', '.join(allowed)}")
    low, high = number(q, "min"), number(q, "max")

    def one(name: str) -> tuple[str, ...]:
        return (q[name].strip(),) if (q.get(name) or "").strip() else ()

    req = sq.ScoreListRequest(
        caller.project_id,
        time,
        sq.ScoreFilter(
            names=one("name"),
            sources=one("source"),
            data_types=one("data_type"),
            trace_ids=one("trace"),
            user_ids=one("user"),
            value=NumberRange(low, high) if low is not None or high is not None else None,
        ),
        first=PAGE,
        after=q.get("after") or None,
    )
    ch = _storage(request).clickhouse
    page = await sq.list_scores(ch, req)
    users = await sq.fetch_trace_users(
        ch, caller.project_id, sorted({s.trace_id for s in page.items if s.trace_id})
    )
    params = {k: v for k, v in q.items() if k != "after"}
    return await _page(
        request,
        caller,
        "score_list.html",
        scores=page.items,
        users=users,
        q=q,
        range=key,
        ranges=list(RANGES),
        sources=scores.SOURCES,
        data_types=scores.DATA_TYPES,
        next_url=_url("/scores/list", params, after=page.end_cursor) if page.has_next else None,
        first_url=_url("/scores/list", params),
    )


@dataclass(frozen=True, slots=True)
class TraceNameBreakdown:
    """One score name and data type by trace name: the average (numeric), the share of True
    (boolean) or the count per category (categorical), as the cells to show."""

    score_name: str
    data_type: str
    columns: list[str]
    rows: dict[str, dict[str, str]]  # trace name -> column -> cell
    missing: str  # the cell of a column a trace name has no value for


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
    caller = await _caller(request, Role.MEMBER)

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
    caller = await _caller(request, Role.MEMBER)
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
    caller = await _caller(request, Role.ADMIN)
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
    caller = await _caller(request, Role.ADMIN)
    await model_catalog.delete(_storage(request), caller.project_id, model_id)
    return Redirect("/settings/models")


SETTINGS_ROUTES = [
    scores_page,
    score_list_page,
    score_config_create,
    score_config_archive,
    models_page,
    model_create,
    model_delete,
]
