"""Reading and changing traces as a whole: lists with bookmarks, one trace as a tree, deletion, flags.

ClickHouse holds what was ingested; Postgres what people set in Langhouse (bookmarks, public
sharing, comments). This module joins the two so that transport layers call one function.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.clickhouse.queries import groups as group_queries
from app.storage.clickhouse.queries import scores as score_queries
from app.storage.clickhouse.queries import trace_page
from app.storage.clickhouse.queries import traces as trace_queries
from app.storage.clickhouse.queries.common import Page, TimeRange, lookup_range
from app.storage.clickhouse.queries.views import ObservationView, ScoreView, TraceTotals, TraceView
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.write_rows import TraceRow
from app.storage.clickhouse.writes import (
    fetch_current_observations,
    fetch_score,
    insert_observations,
    insert_scores,
    insert_traces,
)
from app.storage.postgres import trace_notes
from app.tracing.writer import PROJECT_LOCK_SECONDS

MAX_DELETE = 1_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def list_traces(
    storage: Storage, req: trace_queries.TraceListRequest, *, bookmarked: bool = False
) -> Page[TraceView]:
    """A page of traces; `bookmarked` keeps the project's bookmarked ones only."""
    if bookmarked:
        ids = await trace_notes.bookmarked_trace_ids(storage.postgres, req.project_id)
        if not ids:
            return Page([], False)
        if req.filter.ids:
            ids = sorted(set(ids) & set(req.filter.ids)) or ["\x00"]
        req = replace(req, filter=replace(req.filter, ids=tuple(ids)))
    page = await trace_page.list_traces(storage.clickhouse, req)
    await _apply_flags(storage, req.project_id, page.items)
    return page


async def _apply_flags(storage: Storage, project_id: str, traces: list[TraceView]) -> None:
    flags = await trace_notes.trace_flags(storage.postgres, project_id, [t.id for t in traces])
    for t in traces:
        flag = flags.get(t.id)
        if flag is not None:
            t.bookmarked = flag.bookmarked
            if flag.public is not None:
                t.public = flag.public


@dataclass(slots=True)
class ObservationNode:
    """An observation in its trace's tree, placed on the trace's timeline."""

    observation: ObservationView
    depth: int
    offset_ms: float  # from the trace's first start
    duration_ms: float | None
    children: list[ObservationNode] = field(default_factory=list)


@dataclass(slots=True)
class TraceDetail:
    trace: TraceView
    observations: list[ObservationView]
    roots: list[ObservationNode]
    scores: list[ScoreView]


def observation_tree(observations: list[ObservationView]) -> list[ObservationNode]:
    """Nest observations under their parents (an unknown parent makes a root), in start order."""
    if not observations:
        return []
    start = min(o.start_time for o in observations)
    nodes = {
        o.id: ObservationNode(
            o,
            0,
            (o.start_time - start).total_seconds() * 1000,
            None if o.end_time is None else (o.end_time - o.start_time).total_seconds() * 1000,
        )
        for o in sorted(observations, key=lambda o: (o.start_time, o.id))
    }
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.observation.parent_observation_id or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    stack = [(r, 0) for r in roots]
    while stack:  # depths without recursion: a trace may be thousands of levels deep
        node, depth = stack.pop()
        node.depth = depth
        stack.extend((c, depth + 1) for c in node.children)
    return roots


async def fetch_trace(storage: Storage, project_id: str, trace_id: str) -> TraceView | None:
    """One trace; a trace known only from its observations (no root span yet) is built from them."""
    trace = await trace_queries.fetch_trace(storage.clickhouse, project_id, trace_id)
    if trace is None:
        observations = await trace_queries.fetch_trace_observations(storage.clickhouse, project_id, trace_id)
        if not observations:
            return None
        first = min(observations, key=lambda o: o.start_time)
        totals = (await trace_queries.fetch_totals(storage.clickhouse, project_id, [trace_id])).get(
            trace_id, TraceTotals()
        )
        trace = TraceView(
            trace_id,
            first.start_time,
            first.trace_name,
            first.user_id,
            first.session_id,
            first.release,
            first.version,
            first.environment,
            first.tags,
            False,
            totals,
        )
    await _apply_flags(storage, project_id, [trace])
    return trace


async def trace_detail(
    storage: Storage, project_id: str, trace_id: str, *, shared_only: bool = False
) -> TraceDetail:
    """One trace as a tree with its scores; `shared_only` answers NotFound, exactly as for a missing
    trace, unless the trace is public (shared in Langhouse or marked public by the SDK)."""
    ch = storage.clickhouse
    # Side by side: the trace, its observations and its scores (ClickHouse reads run on several threads).
    trace, observations, scores = await asyncio.gather(
        fetch_trace(storage, project_id, trace_id),
        trace_queries.fetch_trace_observations(ch, project_id, trace_id),
        score_queries.scores_of(ch, project_id, trace_ids=(trace_id,)),
    )
    if trace is None or (shared_only and not trace.public):
        raise NotFound(f"trace {trace_id!r} not found")
    if not observations:  # read beside a flush that wrote the trace row, not yet its spans: read again
        observations = await trace_queries.fetch_trace_observations(ch, project_id, trace_id)
    return TraceDetail(trace, observations, observation_tree(observations), scores)


SESSION_TURNS = 100  # the turns a session view reads, oldest first


@dataclass(slots=True)
class SessionDetail:
    """One session as a conversation: its traces (turns, oldest first) with their scores, and the scores
    given to the session itself."""

    session: group_queries.GroupView
    turns: list[TraceView]
    turn_scores: dict[str, list[ScoreView]]
    session_scores: list[ScoreView]


async def session_turns(
    storage: Storage, project_id: str, session_id: str, first: int
) -> tuple[group_queries.GroupView, list[TraceView]]:
    """A session of the project seen in the last 90 days and its first `first` traces (turns, oldest first,
    with input and output); NotFound when the project has no such session."""
    found = await group_queries.fetch_group(
        storage.clickhouse, project_id, "session_id", session_id, lookup_range()
    )
    if found is None:
        raise NotFound(f"session {session_id!r} not found")
    time = TimeRange(found.first_seen - timedelta(minutes=1), found.last_seen + timedelta(minutes=1))
    req = trace_queries.TraceListRequest(
        project_id,
        time,
        trace_queries.TraceFilter(session_ids=(session_id,)),
        descending=False,
        first=first,
        with_io=True,
    )
    return found, (await list_traces(storage, req)).items


async def session_detail(storage: Storage, project_id: str, session_id: str) -> SessionDetail:
    """One session of the project (seen in the last 90 days) with its first SESSION_TURNS turns and the
    scores of the turns and of the session; NotFound when the project has no such session."""
    ch = storage.clickhouse
    found, turns = await session_turns(storage, project_id, session_id, SESSION_TURNS)
    all_scores, session_scores = await asyncio.gather(
        score_queries.scores_of(ch, project_id, trace_ids=tuple(t.id for t in turns)),
        score_queries.scores_of(ch, project_id, session_ids=(session_id,)),
    )
    turn_scores = {t.id: [s for s in all_scores if s.trace_id == t.id] for t in turns}
    return SessionDetail(found, turns, turn_scores, [s for s in session_scores if s.trace_id is None])


async def scores_by_trace(
    storage: Storage, project_id: str, trace_ids: list[str]
) -> dict[str, list[ScoreView]]:
    """Per trace of the project, its live scores (oldest first), read in one query for all of them."""
    scores: dict[str, list[ScoreView]] = {t: [] for t in trace_ids}
    for s in await score_queries.scores_of(storage.clickhouse, project_id, trace_ids=tuple(trace_ids)):
        scores.setdefault(s.trace_id or "", []).append(s)
    return scores


async def score_ids(storage: Storage, project_id: str, trace_ids: list[str]) -> dict[str, list[str]]:
    """Per trace, the ids of its scores (as the REST trace list names them)."""
    by_trace = await scores_by_trace(storage, project_id, trace_ids)
    return {t: [s.id for s in found] for t, found in by_trace.items()}


async def set_flags(
    storage: Storage,
    project_id: str,
    trace_id: str,
    *,
    bookmarked: bool | None = None,
    public: bool | None = None,
) -> TraceView:
    if await fetch_trace(storage, project_id, trace_id) is None:
        raise NotFound(f"trace {trace_id!r} not found")
    await trace_notes.set_trace_flag(
        storage.postgres, project_id, trace_id, bookmarked=bookmarked, public=public
    )
    trace = await fetch_trace(storage, project_id, trace_id)
    assert trace is not None
    return trace


async def delete_traces(storage: Storage, project_id: str, trace_ids: list[str]) -> list[str]:
    """Delete traces with their observations and scores; returns the ids that existed.

    Observations get cancel rows first (sign -1), so the aggregates drop them exactly, then every
    row of theirs is removed (lightweight DELETE); scores and the trace get deletion markers.
    """
    ids = sorted(set(trace_ids))
    if not ids:
        raise InvalidInput("traceIds must name at least one trace")
    if len(ids) > MAX_DELETE:
        raise InvalidInput(f"traceIds: at most {MAX_DELETE} traces per call")
    ch, now = storage.clickhouse, datetime.now(UTC)
    found = [t for t in [await fetch_trace(storage, project_id, i) for i in ids] if t is not None]
    if not found:
        return []
    found_ids = [t.id for t in found]
    async with storage.cache.lock(f"ingest:{project_id}", PROJECT_LOCK_SECONDS, PROJECT_LOCK_SECONDS):
        current = await fetch_current_observations(ch, project_id, trace_ids=found_ids, since=_EPOCH)
        await insert_observations(ch, [replace(r, sign=-1, event_ts=now) for r in current])
        await ch.delete(
            CompiledQuery(
                "DELETE FROM observations "
                "WHERE project_id = {project_id:String} AND trace_id IN {ids:Array(String)}",
                {"project_id": project_id, "ids": found_ids},
                "observations.delete",
            )
        )
        scores = await score_queries.scores_of(ch, project_id, trace_ids=tuple(found_ids))
        if scores:
            rows = [await fetch_score(ch, project_id, s.id) for s in scores]
            await insert_scores(ch, [replace(r, is_deleted=1, event_ts=now) for r in rows if r is not None])
        await insert_traces(
            ch,
            [
                TraceRow(project_id, t.id, t.timestamp, environment=t.environment, event_ts=now, is_deleted=1)
                for t in found
            ],
        )
    await trace_notes.delete_trace_flags(storage.postgres, project_id, found_ids)
    return found_ids
