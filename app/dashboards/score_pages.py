"""Score pages: analytics (app.analytics.scores) with the score configs, and the scores one by one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.analytics import score_agreement as sa
from app.analytics.scores import score_analytics, score_sources
from app.auth.caller import Caller
from app.dashboards import figures
from app.dashboards.deps import FORM, UiSession, page, requires_member
from app.dashboards.forms import Fields, read_form, refused
from app.dashboards.params import PAGE, RANGES, FlagForm, number, query, time_range, url
from app.errors import InvalidInput, UserError
from app.storage import Storage
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import NumberRange
from app.storage.postgres.tables import Role
from app.tracing import score_configs, scores
from app.tracing.score_configs import Category, ScoreConfigChange, ScoreConfigSpec


@get("/scores")
async def scores_page(session: UiSession, storage: Storage, range: str | None = None) -> Template:
    return await _scores(session, storage, range)


async def _scores(
    session: UiSession,
    storage: Storage,
    range: str | None = None,
    values: ScoreConfigForm | None = None,
    exc: UserError | None = None,
) -> Template:
    """Score analytics and configs; after a refused config form, that form as typed with its error."""
    project_id = session.caller.project_id
    key, time = time_range(range or "7d")
    analytics, by_source = await asyncio.gather(
        score_analytics(storage.clickhouse, project_id, time),
        score_sources(storage.clickhouse, project_id, time),
    )
    configs = await score_configs.list_configs(storage, project_id, 200)
    response = page(
        session,
        "scores.html",
        values=values or ScoreConfigForm(),
        errors=CONFIG_FIELDS.errors(exc) if exc else {},
        score_summaries=analytics.summaries,
        charts={**figures.score_charts(analytics), **figures.score_source_charts(by_source)},
        by_trace=analytics.by_trace_name,
        by_source=by_source.distributions,
        configs=configs,
        range=key,
        ranges=list(RANGES),
        can_write=session.caller.role.at_least(Role.MEMBER),
    )
    return refused(response, exc) if exc else response


def _score_filter(q: dict[str, str]) -> sq.ScoreFilter:
    """The list's filters from the query string (name, source, data_type, trace, user, min, max)."""
    for field, allowed in (("source", scores.SOURCES), ("data_type", scores.DATA_TYPES)):
        if q.get(field) and q[field] not in allowed:
            raise InvalidInput(f"{field} must be one of {', '.join(allowed)}")
    low, high = number(q, "min"), number(q, "max")

    def one(name: str) -> tuple[str, ...]:
        return (q[name].strip(),) if (q.get(name) or "").strip() else ()

    return sq.ScoreFilter(
        names=one("name"),
        sources=one("source"),
        data_types=one("data_type"),
        trace_ids=one("trace"),
        user_ids=one("user"),
        value=NumberRange(low, high) if low is not None or high is not None else None,
    )


@get("/scores/list")
async def score_list_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    """Scores one by one, newest first, filtered by the query string; keyset pages."""
    project_id, q = session.caller.project_id, query(request)
    key, time = time_range(q.get("range") or "7d", request)
    req = sq.ScoreListRequest(project_id, time, _score_filter(q), first=PAGE, after=q.get("after") or None)
    found = await sq.list_scores(storage.clickhouse, req)
    trace_ids = sorted({s.trace_id for s in found.items if s.trace_id})
    users = await sq.fetch_trace_users(storage.clickhouse, project_id, trace_ids)
    params = {k: v for k, v in q.items() if k != "after"}
    return page(
        session,
        "score_list.html",
        scores=found.items,
        users=users,
        q=q,
        range=key,
        ranges=list(RANGES),
        sources=scores.SOURCES,
        data_types=scores.DATA_TYPES,
        next_url=url("/scores/list", params, after=found.end_cursor) if found.has_next else None,
        first_url=url("/scores/list", params),
    )


@dataclass
class ScoreConfigForm:
    name: str = ""
    data_type: str = "NUMERIC"
    min_value: str = ""
    max_value: str = ""
    categories: str = ""
    description: str = ""

    def spec(self) -> ScoreConfigSpec:
        """The config to create; InvalidInput names a bound that is not a number."""

        def number(text: str, field: str) -> float | None:
            try:
                return float(text) if text.strip() else None
            except ValueError as exc:
                raise InvalidInput(f"{field} must be a number") from exc

        labels = [c.strip() for c in self.categories.split(",") if c.strip()]
        return ScoreConfigSpec(
            name=self.name,
            data_type=self.data_type,
            description=self.description or None,
            min_value=number(self.min_value, "minValue"),
            max_value=number(self.max_value, "maxValue"),
            categories=tuple(Category(float(i), label) for i, label in enumerate(labels)),
        )


CONFIG_FIELDS = Fields(
    {
        "name": "Name",
        "data_type": "Type",
        "min_value": "Min",
        "max_value": "Max",
        "categories": "Categories",
        "description": "Description",
    },
    names={"dataType": "data_type", "minValue": "min_value", "maxValue": "max_value"},
)


@post("/scores/configs", guards=[requires_member])
async def score_config_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    form = await read_form(request, ScoreConfigForm)
    try:
        await score_configs.create_config(storage, session.caller.project_id, form.spec())
    except UserError as exc:
        return await _scores(session, storage, None, form, exc)
    return Redirect("/scores")


@post("/scores/configs/{config_id:str}/archive", guards=[requires_member])
async def score_config_archive(
    caller: Caller, storage: Storage, config_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    change = ScoreConfigChange(is_archived=data.value == "1")
    await score_configs.update_config(storage, caller.project_id, config_id, change)
    return Redirect("/scores")


AGREEMENT_FIELDS = ("a", "a_source", "b", "b_source", "level", "tolerance", "range", "from", "to")
SAMPLE = 2_000


def _agreement_request(
    request: Request[Any, Any, State], project_id: str, q: dict[str, str]
) -> tuple[str, sa.PairRequest, float]:
    """The range key, the pair request and the tolerance the query string asks for."""
    key, time = time_range(q.get("range") or "7d", request)
    a = sa.selector(q.get("a") or "", q.get("a_source"), None, "a")
    b = sa.selector(q.get("b") or "", q.get("b_source"), None, "b")
    req = sa.PairRequest(project_id, time, a, b, sa.level(q.get("level")))
    return key, req, sa.tolerance(number(q, "tolerance"))


def _object_link(level: sa.Level, pair: sa.ScorePair) -> tuple[str, str]:
    """The page of the scored object and its label."""
    if level == "SESSION":
        return f"/sessions/{quote(pair.session_id or '', safe='')}", pair.session_id or ""
    href = f"/traces/{quote(pair.trace_id or '', safe='')}"
    if level == "OBSERVATION":
        return url(href, {"obs": pair.observation_id}), f"{pair.trace_id} / {pair.observation_id}"
    return href, pair.trace_id or ""


def _shown(value: float | None, label: str) -> str:
    if label:
        return label
    return "" if value is None else f"{value:.4g}"


@get("/scores/agreement")
async def score_agreement_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    """Agreement of two scores on the same objects: correlations or kappa, a figure, the disagreements."""
    project_id, q = session.caller.project_id, query(request)
    kept = {k: v for k, v in q.items() if k in AGREEMENT_FIELDS}
    key, time = time_range(q.get("range") or "7d", request)
    names = sorted({s.name for s in await sq.aggregate_score_summaries(storage.clickhouse, project_id, time)})
    agreement, chart, error = None, None, None
    if q.get("a") or q.get("b"):
        try:
            key, req, tol = _agreement_request(request, project_id, q)
            agreement = await sa.score_agreement(storage.clickhouse, req, tol)
            if agreement.data_type == "NUMERIC":
                sample = await sa.pair_sample(storage.clickhouse, req, SAMPLE)
                chart = figures.agreement_scatter(req.a.name, req.b.name, sample, agreement.pairs)
            elif agreement.confusion is not None:
                chart = figures.confusion_heatmap(req.a.name, req.b.name, agreement.confusion)
        except InvalidInput as exc:
            error = str(exc)
    response = page(
        session,
        "score_agreement.html",
        q=q,
        names=names,
        sources=scores.SOURCES,
        levels=sa.LEVELS,
        range=key,
        ranges=list(RANGES),
        agreement=agreement,
        chart=chart,
        error=error,
        disagreements_url=url("/scores/agreement/disagreements", kept),
    )
    response.status_code = 400 if error else 200
    return response


@get("/scores/agreement/disagreements")
async def score_disagreements_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    """The objects two scores disagree on, newest first, each linked to its trace or session; keyset pages."""
    project_id, q = session.caller.project_id, query(request)
    key, req, tol = _agreement_request(request, project_id, q)
    found = await sa.disagreements(storage.clickhouse, req, tol, PAGE, q.get("after") or None)
    kept = {k: v for k, v in q.items() if k in AGREEMENT_FIELDS}
    rows = [
        {
            "link": _object_link(req.level, p),
            "a": _shown(p.value_a, p.label_a),
            "b": _shown(p.value_b, p.label_b),
            "time": p.timestamp,
        }
        for p in found.items
    ]
    return page(
        session,
        "score_disagreements.html",
        q=q,
        req=req,
        tolerance=tol,
        rows=rows,
        range=key,
        agreement_url=url("/scores/agreement", kept),
        next_url=url("/scores/agreement/disagreements", kept, after=found.end_cursor)
        if found.has_next
        else None,
        first_url=url("/scores/agreement/disagreements", kept),
    )


SCORE_ROUTES = [
    scores_page,
    score_list_page,
    score_agreement_page,
    score_disagreements_page,
    score_config_create,
    score_config_archive,
]
