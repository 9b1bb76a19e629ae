"""Score pages: analytics (app.analytics.scores) with the score configs, and the scores one by one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.analytics.scores import score_analytics
from app.auth.caller import Caller
from app.dashboards import figures
from app.dashboards.deps import FORM, UiSession, page, requires_member
from app.dashboards.params import PAGE, RANGES, FlagForm, number, query, time_range, url
from app.errors import InvalidInput
from app.storage import Storage
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import NumberRange
from app.storage.postgres.tables import Role
from app.tracing import score_configs, scores
from app.tracing.score_configs import Category, ScoreConfigChange, ScoreConfigSpec


@get("/scores")
async def scores_page(session: UiSession, storage: Storage, range: str | None = None) -> Template:
    project_id = session.caller.project_id
    key, time = time_range(range or "7d")
    analytics = await score_analytics(storage.clickhouse, project_id, time)
    configs = await score_configs.list_configs(storage, project_id, 200)
    return page(
        session,
        "scores.html",
        score_summaries=analytics.summaries,
        charts=figures.score_charts(analytics),
        by_trace=analytics.by_trace_name,
        configs=configs,
        range=key,
        ranges=list(RANGES),
        can_write=session.caller.role.at_least(Role.MEMBER),
    )


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
    name: str
    data_type: str
    min_value: str = ""
    max_value: str = ""
    categories: str = ""
    description: str = ""


@post("/scores/configs", guards=[requires_member])
async def score_config_create(
    caller: Caller, storage: Storage, data: Annotated[ScoreConfigForm, FORM]
) -> Redirect:
    def number(text: str, field: str) -> float | None:
        try:
            return float(text) if text.strip() else None
        except ValueError as exc:
            raise InvalidInput(f"{field} must be a number") from exc

    labels = [c.strip() for c in data.categories.split(",") if c.strip()]
    spec = ScoreConfigSpec(
        name=data.name,
        data_type=data.data_type,
        description=data.description or None,
        min_value=number(data.min_value, "minValue"),
        max_value=number(data.max_value, "maxValue"),
        categories=tuple(Category(float(i), label) for i, label in enumerate(labels)),
    )
    await score_configs.create_config(storage, caller.project_id, spec)
    return Redirect("/scores")


@post("/scores/configs/{config_id:str}/archive", guards=[requires_member])
async def score_config_archive(
    caller: Caller, storage: Storage, config_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    change = ScoreConfigChange(is_archived=data.value == "1")
    await score_configs.update_config(storage, caller.project_id, config_id, change)
    return Redirect("/scores")


SCORE_ROUTES = [scores_page, score_list_page, score_config_create, score_config_archive]
