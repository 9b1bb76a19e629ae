"""Scores of many sessions in one query."""

from __future__ import annotations

from app.storage import Storage
from app.storage.clickhouse.queries.scores import scores_of
from app.storage.clickhouse.queries.views import ScoreView


async def scores_by_session(
    storage: Storage, project_id: str, session_ids: list[str]
) -> list[list[ScoreView]]:
    found = await scores_of(storage.clickhouse, project_id, session_ids=tuple(session_ids))
    return [[s for s in found if s.session_id == i] for i in session_ids]
