"""Sessions and users: the lists (traces grouped by session or user id) and one session's turns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from app.dashboards.deps import UiSession, page
from app.dashboards.display import chat, pretty
from app.dashboards.params import PAGE, RANGES, query, time_range, url
from app.errors import NotFound
from app.storage import Storage
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import TimeRange, lookup_range
from app.storage.clickhouse.queries.views import ScoreView
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
    found = await gq.fetch_group(storage.clickhouse, project_id, "session_id", session_id, lookup_range())
    if found is None:
        raise NotFound(f"session {session_id!r} not found")
    time = TimeRange(found.first_seen - timedelta(minutes=1), found.last_seen + timedelta(minutes=1))
    req = tq.TraceListRequest(
        project_id, time, tq.TraceFilter(session_ids=(session_id,)), descending=False, first=100, with_io=True
    )
    turns = (await trace_service.list_traces(storage, req)).items
    all_scores = await sq.scores_of(storage.clickhouse, project_id, trace_ids=tuple(t.id for t in turns))
    turn_scores = {t.id: [s for s in all_scores if s.trace_id == t.id] for t in turns}
    session_scores = await sq.scores_of(storage.clickhouse, project_id, session_ids=(session_id,))
    return page(
        session,
        "session.html",
        session=found,
        turns=turns,
        turn_scores=turn_scores,
        session_scores=[s for s in session_scores if s.trace_id is None],
        pretty=pretty,
        chat=chat,
    )


SESSION_ROUTES = [sessions_page, session_page]
