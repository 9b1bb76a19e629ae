"""Scores of many traces in one query."""

from __future__ import annotations

from app.storage import Storage
from app.storage.clickhouse.queries.scores import scores_of
from app.storage.clickhouse.queries.views import ScoreView


async def scores_by_trace(storage: Storage, project_id: str, trace_ids: list[str]) -> list[list[ScoreView]]:
    found = await scores_of(storage.clickhouse, project_id, trace_ids=tuple(trace_ids))
    return [[s for s in found if s.trace_id == t] for t in trace_ids]
