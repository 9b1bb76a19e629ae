"""Summaries (mean scores, errors, cost, latency) of many experiments in one query."""

from __future__ import annotations

from app.evaluation.experiments import ExperimentSummary, experiment_summaries
from app.storage import Storage


async def summary_by_experiment(
    storage: Storage, project_id: str, experiment_ids: list[str]
) -> list[ExperimentSummary | None]:
    found = await experiment_summaries(storage, project_id, experiment_ids)
    return [found.get(e) for e in experiment_ids]
