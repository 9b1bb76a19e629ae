"""Done and total items of many annotation queues in one query."""

from __future__ import annotations

from app.evaluation import annotation_queues as aq
from app.evaluation.annotation_queues import QueueProgress
from app.storage import Storage


async def progress_by_queue(storage: Storage, project_id: str, queue_ids: list[str]) -> list[QueueProgress]:
    found = await aq.progress(storage, project_id, queue_ids)
    return [found.get(q, QueueProgress()) for q in queue_ids]
