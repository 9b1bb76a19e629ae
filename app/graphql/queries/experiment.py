"""Query fields over experiments: a list, one experiment with its item runs, and a comparison of runs."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.types import Info

from app.errors import InvalidInput, NotFound
from app.evaluation import experiments as ex
from app.evaluation.compare import compare_runs
from app.evaluation.results import RunResults
from app.graphql.context import Context
from app.graphql.types import comparison as c
from app.graphql.types import experiment as e
from app.graphql.types.pagination import resumed_connection, resumed_page
from app.storage.clickhouse.queries.common import page_size

MAX_RUNS = 5


@strawberry.type
class ExperimentQueryMixin:
    @strawberry.field(
        description="Experiments, newest first; those started in the last 90 days unless `filter.from` says."
    )
    async def experiments(
        self,
        info: Info[Context, None],
        filter: e.ExperimentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> e.ExperimentConnection:
        caller = info.context.require()
        filt = e.experiment_filter(filter)

        async def fetch(cursor: str | None, limit: int) -> tuple[list[ex.ExperimentView], str | None]:
            return await ex.list_experiments_page(
                info.context.storage, caller.project_id, filt, cursor, limit
            )

        rows, nxt = await resumed_page(fetch, after, page_size(first))
        return resumed_connection(
            e.ExperimentConnection, e.ExperimentEdge, rows, nxt is not None, e.Experiment.from_view
        )

    @strawberry.field(description="One experiment by id; null when not found.")
    async def experiment(self, info: Info[Context, None], id: strawberry.ID) -> e.Experiment | None:
        caller = info.context.require()
        view = await ex.fetch_experiment(info.context.storage, caller.project_id, str(id))
        return None if view is None else e.Experiment.from_view(view)

    @strawberry.field(
        description="Compare 2 to 5 experiments item by item against a baseline: per score the mean and "
        "confidence interval of each run, and each other run's paired difference from the baseline with its "
        "p-value (Holm-adjusted over all tests); per item the outputs and scores of every run."
    )
    async def compare_experiments(
        self, info: Info[Context, None], baseline: strawberry.ID, others: list[strawberry.ID]
    ) -> c.Comparison:
        caller = info.context.require()
        ids = [str(baseline), *(str(o) for o in others)]
        if not 2 <= len(ids) <= MAX_RUNS:
            raise InvalidInput(
                f"others: compare 2 to {MAX_RUNS} experiments in all (the baseline and 1 to "
                f"{MAX_RUNS - 1} others); got {len(ids)}"
            )
        if len(set(ids)) != len(ids):
            raise InvalidInput("others: each experiment may appear once (the baseline included)")
        found = await asyncio.gather(
            *(ex.experiment_results(info.context.storage, caller.project_id, run_id) for run_id in ids)
        )
        runs: list[RunResults] = []
        for i, (run_id, results) in enumerate(zip(ids, found, strict=True)):
            if results is None:
                field = "baseline" if i == 0 else f"others[{i - 1}]"
                raise NotFound(f"{field}: experiment {run_id!r} not found")
            runs.append(results)
        # The statistics (bootstrap intervals) are CPU work: off the event loop.
        result = await asyncio.to_thread(compare_runs, runs[0], runs[1:])
        return c.Comparison.from_value(result, {r.experiment_id: r.name for r in runs})
