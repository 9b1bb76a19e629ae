"""The reviewers assigned to many annotation queues in one query."""

from __future__ import annotations

from app.evaluation import annotation_queues as aq
from app.storage import Storage


async def assignees_by_queue(storage: Storage, project_id: str, queue_ids: list[str]) -> list[list[str]]:
    found = await aq.assignees(storage, project_id, queue_ids)
    return [found.get(q, []) for q in queue_ids]
