"""An experiment's page: every item run with its output, expected output, scores, cost, latency and a
link to its trace; and the same as a CSV or JSONL download. (Comparing runs is another page's.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import get
from litestar.response import Stream, Template

from app.auth.caller import Caller
from app.dashboards.dataset_pages import export_stream, shown
from app.dashboards.deps import UiSession, page
from app.errors import NotFound
from app.evaluation import datasets, experiments, exports
from app.evaluation.results import RunResults
from app.storage import Storage


async def _results(storage: Storage, project_id: str, experiment_id: str) -> tuple[Any, RunResults]:
    experiment = await experiments.fetch_experiment(storage, project_id, experiment_id)
    results = await experiments.experiment_results(storage, project_id, experiment_id)
    if experiment is None or results is None:
        raise NotFound(f"experiment {experiment_id!r} not found")
    return experiment, results


@get("/experiments/{experiment_id:str}")
async def experiment_page(session: UiSession, storage: Storage, experiment_id: str) -> Template:
    """One experiment's item runs, in the order the results give them."""
    project_id = session.caller.project_id
    experiment, results = await _results(storage, project_id, experiment_id)
    dataset = (
        await datasets.fetch_dataset(storage, project_id, dataset_id=experiment.dataset_id)
        if experiment.dataset_id
        else None
    )
    summary = (await experiments.experiment_summaries(storage, project_id, [experiment_id])).get(
        experiment_id
    )
    return page(
        session,
        "experiment.html",
        experiment=experiment,
        results=results,
        summary=summary,
        dataset=dataset,
        score_names=sorted({n for r in results.items for n in r.scores}),
        shown=shown,
    )


@get("/experiments/{experiment_id:str}/export")
async def experiment_export(
    caller: Caller, storage: Storage, experiment_id: str, format: str | None = None
) -> Stream:
    """The experiment's item runs (outputs, expected outputs, scores, cost, latency) as CSV or JSONL."""
    fmt = exports.export_format(format)
    experiment, results = await _results(storage, caller.project_id, experiment_id)

    async def records() -> AsyncIterator[dict[str, Any]]:
        for item in results.items:
            yield exports.result_record(item)

    return export_stream(records(), fmt, exports.RESULT_COLUMNS, experiment.name)


EXPERIMENT_ROUTES = [experiment_page, experiment_export]
