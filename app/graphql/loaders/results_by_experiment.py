"""Every item run of an experiment with its scores, cost and latency, read once per request."""

from __future__ import annotations

import asyncio

from app.evaluation.experiments import experiment_results
from app.evaluation.results import RunResults
from app.storage import Storage


async def results_by_experiment(
    storage: Storage, project_id: str, experiment_ids: list[str]
) -> list[RunResults | None]:
    return list(await asyncio.gather(*(experiment_results(storage, project_id, e) for e in experiment_ids)))
