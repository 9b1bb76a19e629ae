"""Current item counts of many datasets in one query."""

from __future__ import annotations

from app.evaluation.datasets import item_counts
from app.storage import Storage


async def item_count_by_dataset(storage: Storage, project_id: str, dataset_ids: list[str]) -> list[int]:
    found = await item_counts(storage, project_id, dataset_ids)
    return [found.get(d, 0) for d in dataset_ids]
