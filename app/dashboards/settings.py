"""Score analytics with score configs, and model prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards import figures
from app.dashboards.pages import RANGES, FlagForm, _range
from app.dashboards.routes import FORM, _caller, _page, _storage
from app.errors import InvalidInput
from app.storage.clickhouse.queries import metrics as mq
from app.storage.postgres import model_definitions as model_repo
from app.storage.postgres import score_configs as score_config_repo
from app.storage.postgres.models import Role
from app.tracing import model_catalog, score_configs


@get("/scores")
async def scores_page(request: Request[Any, Any, State], range: str | None = None) -> Template:
    caller = await _caller(request)
    storage = _storage(request)
    key, time = _range(range or "7d")

    def run(
        spec: tuple[mq.Measure, mq.Aggregation],
        dims: tuple[mq.Dimension, ...],
        granularity: mq.Granularity | None,
        data_types: tuple[str, ...] = (),
    ) -> Any:
        filters = (mq.DimensionFilter(mq.Dimension.DATA_TYPE, data_types),) if data_types else ()
        return mq.run_metrics(
            storage.clickhouse,
            mq.MetricsRequest(
                caller.project_id,
                mq.View.SCORES,
                (mq.MetricSpec(*spec),),
                time,
                dims,
                filters,
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
    by_trace = _by_trace_name(
        await run(
            (mq.Measure.VALUE, mq.Aggregation.AVG),
            (mq.Dimension.SCORE_NAME, mq.Dimension.TRACE_NAME),
            None,
            ("NUMERIC", "BOOLEAN"),
        ),
        await run(
            (mq.Measure.COUNT, mq.Aggregation.COUNT),
            (mq.Dimension.SCORE_NAME, mq.Dimension.TRACE_NAME, mq.Dimension.STRING_VALUE),
            None,
            ("CATEGORICAL",),
        ),
    )
    configs = await score_config_repo.list_score_configs(storage.postgres, caller.project_id, 200, 0)
    return await _page(
        request,
        caller,
        "scores.html",
        counts=counts.rows,
        charts=charts,
        by_trace=by_trace,
        configs=configs,
        range=key,
        ranges=list(RANGES),
        can_write=caller.role.at_least(Role.MEMBER),
    )


@dataclass(frozen=True, slots=True)
class TraceNameBreakdown:
    """One score name by trace name: its average (numeric, boolean; column None) or counts per category."""

    score_name: str
    columns: list[str | None]
    rows: dict[str, dict[str | None, float]]  # trace name -> column -> value


def _by_trace_name(averages: mq.MetricsResult, categories: mq.MetricsResult) -> list[TraceNameBreakdown]:
    out: dict[str, TraceNameBreakdown] = {}
    cells = [(r["score_name"], r["trace_name"], None, r["value_avg"]) for r in averages.rows] + [
        (r["score_name"], r["trace_name"], r["string_value"], r["count_count"]) for r in categories.rows
    ]
    for score_name, trace_name, column, value in cells:
        found = out.setdefault(score_name, TraceNameBreakdown(score_name, [], {}))
        if column not in found.columns:
            found.columns.append(column)
        found.rows.setdefault(trace_name, {})[column] = value
    return [out[name] for name in sorted(out)]


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
    score_config_create,
    score_config_archive,
    models_page,
    model_create,
    model_delete,
]
