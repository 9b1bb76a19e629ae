"""Per-request DataLoaders: child lists of many parents fetched in one query.

May import app.storage, app.tracing, app.evaluation and strawberry.
"""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from app.evaluation.annotation_queues import QueueProgress
from app.evaluation.experiments import ExperimentSummary
from app.evaluation.results import RunResults
from app.graphql.loaders.assignees_by_queue import assignees_by_queue
from app.graphql.loaders.dependencies_by_prompt import dependencies_by_prompt
from app.graphql.loaders.item_count_by_dataset import item_count_by_dataset
from app.graphql.loaders.progress_by_queue import progress_by_queue
from app.graphql.loaders.results_by_experiment import results_by_experiment
from app.graphql.loaders.score_config_by_id import score_config_by_id
from app.graphql.loaders.scores_by_session import scores_by_session
from app.graphql.loaders.scores_by_trace import scores_by_trace
from app.graphql.loaders.summary_by_experiment import summary_by_experiment
from app.graphql.loaders.tree_by_trace import tree_by_trace
from app.storage import Storage
from app.storage.clickhouse.queries.views import ScoreView
from app.storage.postgres.tables import PromptDependency, ScoreConfig
from app.tracing.trace_service import ObservationNode


@dataclass(slots=True)
class Loaders:
    scores_by_trace: DataLoader[str, list[ScoreView]]
    scores_by_session: DataLoader[str, list[ScoreView]]
    tree_by_trace: DataLoader[str, list[ObservationNode]]
    dependencies_by_prompt: DataLoader[str, list[PromptDependency]]
    item_count_by_dataset: DataLoader[str, int]
    summary_by_experiment: DataLoader[str, ExperimentSummary | None]
    results_by_experiment: DataLoader[str, RunResults | None]
    progress_by_queue: DataLoader[str, QueueProgress]
    assignees_by_queue: DataLoader[str, list[str]]
    score_config_by_id: DataLoader[str, ScoreConfig | None]


def make_loaders(storage: Storage, project_id: str | None) -> Loaders:
    pid = project_id or ""
    return Loaders(
        scores_by_trace=DataLoader(lambda ids: scores_by_trace(storage, pid, ids)),
        scores_by_session=DataLoader(lambda ids: scores_by_session(storage, pid, ids)),
        tree_by_trace=DataLoader(lambda ids: tree_by_trace(storage, pid, ids)),
        dependencies_by_prompt=DataLoader(lambda ids: dependencies_by_prompt(storage, pid, ids)),
        item_count_by_dataset=DataLoader(lambda ids: item_count_by_dataset(storage, pid, ids)),
        summary_by_experiment=DataLoader(lambda ids: summary_by_experiment(storage, pid, ids)),
        results_by_experiment=DataLoader(lambda ids: results_by_experiment(storage, pid, ids)),
        progress_by_queue=DataLoader(lambda ids: progress_by_queue(storage, pid, ids)),
        assignees_by_queue=DataLoader(lambda ids: assignees_by_queue(storage, pid, ids)),
        score_config_by_id=DataLoader(lambda ids: score_config_by_id(storage, pid, ids)),
    )
