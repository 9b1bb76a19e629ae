"""Sessions and users: the lists (traces grouped by session or user id) and one session's turns."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from app.dashboards.deps import UiSession, page
from app.dashboards.display import chat, pretty
from app.dashboards.params import PAGE, RANGES, query, time_range, url
from app.evaluation import annotation
from app.evaluation.annotation_queues import ObjectType
from app.storage import Storage
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.views import ScoreView
from app.storage.postgres.tables import Role
from app.tracing import trace_service


async def group_list(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, key: gq.GroupKey, template: str
) -> Template:
    """A page of sessions or users, most recently seen first; sessions with their own scores."""
    project_id, q = session.caller.project_id, query(request)
    range_key, time = time_range(q.get("range"), request)
    req = gq.GroupListRequest(
        project_id, key, time, sort=gq.GroupSort.LAST_SEEN, first=PAGE, after=q.get("after") or None
    )
    ch = storage.clickhouse
    found = await gq.list_groups(ch, req)
    next_url = url(request.url.path, q, after=found.end_cursor) if found.has_next else None
    group_scores: dict[str, list[ScoreView]] = {}
    if key == "session_id":  # scores given to the sessions themselves
        scores = await sq.scores_of(ch, project_id, session_ids=tuple(g.id for g in found.items))
        for s in (s for s in scores if s.trace_id is None):
            group_scores.setdefault(s.session_id or "", []).append(s)
    return page(
        session,
        template,
        groups=found.items,
        group_scores=group_scores,
        range=range_key,
        ranges=list(RANGES),
        next_url=next_url,
        q=q,
    )


@get("/sessions")
async def sessions_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    return await group_list(request, session, storage, "session_id", "sessions.html")


@get("/sessions/{session_id:str}")
async def session_page(session: UiSession, storage: Storage, session_id: str) -> Template:
    project_id = session.caller.project_id
    detail = await trace_service.session_detail(storage, project_id, session_id)
    can_write = session.caller.role.at_least(Role.MEMBER)
    return page(
        session,
        "session.html",
        session=detail.session,
        turns=detail.turns,
        turn_scores=detail.turn_scores,
        session_scores=detail.session_scores,
        pretty=pretty,
        chat=chat,
        queue_choices=await annotation.queue_choices(storage, session.caller, ObjectType.SESSION, session_id)
        if can_write
        else None,
    )


SESSION_ROUTES = [sessions_page, session_page]
