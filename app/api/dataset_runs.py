"""The legacy dataset-run routes (SDK ≤ 4.x, JS 5.x): POST/GET /api/public/dataset-run-items,
GET/DELETE /api/public/datasets/{name}/runs[/{runName}] and the id-based /v2/dataset-runs/by-dataset-id.

A run is an experiment: its id (`datasetRunId`) is the stable experiment id of (dataset, run name), so
a run written here and one recorded from SDK 5.x spans are the same experiment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote

from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import iso, project_scope, raw_path
from app.errors import InvalidInput, NotFound
from app.evaluation import datasets
from app.evaluation import experiments as ex
from app.evaluation.datasets import DatasetView
from app.http_json import ApiDoc, json_body
from app.storage import Storage

DATASETS_PREFIX = "/api/public/datasets/"
_STRING_OR_NULL = {"type": ["string", "null"]}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
CREATE_RUN_ITEM = ApiDoc(
    body={
        "type": "object",
        "required": ["runName", "datasetItemId"],
        "description": "traceId or observationId is required",
        "properties": {
            "runName": {"type": "string", "minLength": 1},
            "runDescription": _STRING_OR_NULL,
            "metadata": {"description": "Any JSON value; replaces the run's."},
            "datasetItemId": {"type": "string", "minLength": 1},
            "traceId": _STRING_OR_NULL,
            "observationId": _STRING_OR_NULL,
            "datasetVersion": _TIME_OR_NULL,
            "createdAt": _TIME_OR_NULL,
        },
    },
    errors={404: "No dataset item of that id, or no observation of that id (observationId without traceId)."},
)
RUNS = ApiDoc(errors={404: "No dataset of that name or id, or no run of that name or id in it."})
MAX_RUN_ITEMS = 10_000  # run items listed with one run (GET …/runs/{runName})


def _text(body: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(f"{field} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{field} must be a non-empty string")
    return value


def _time(body: dict[str, Any], field: str) -> datetime | None:
    value = _text(body, field)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{field} must be an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_item_spec(body: Any) -> ex.RunItemSpec:
    """The run item a POST body asks for; InvalidInput naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return ex.RunItemSpec(
        run_name=str(_text(body, "runName", required=True)),
        dataset_item_id=str(_text(body, "datasetItemId", required=True)),
        trace_id=_text(body, "traceId"),
        observation_id=_text(body, "observationId"),
        run_description=_text(body, "runDescription"),
        metadata=body.get("metadata"),
        dataset_version=_time(body, "datasetVersion"),
        created_at=_time(body, "createdAt"),
    )


def run_item_json(item: ex.RunItemView) -> dict[str, Any]:
    return {
        "id": item.id,
        "datasetRunId": item.experiment_id,
        "datasetRunName": item.run_name,
        "datasetItemId": item.dataset_item_id,
        "traceId": item.trace_id,
        "observationId": item.observation_id,
        "createdAt": iso(item.created_at),
        "updatedAt": iso(item.updated_at),
    }


def _item_run_json(item: ex.ExperimentItemView) -> dict[str, Any]:
    observation_id = item.id if item.id != item.trace_id else None
    return run_item_json(
        ex.RunItemView(
            id=ex.run_item_id(item.experiment_id, item.trace_id, observation_id),
            experiment_id=item.experiment_id,
            run_name=item.experiment_name,
            dataset_id=item.dataset_id or "",
            dataset_item_id=item.item_id,
            trace_id=item.trace_id,
            observation_id=observation_id,
            created_at=item.start_time,
            updated_at=item.end_time or item.start_time,
        )
    )


def run_json(run: ex.ExperimentView, dataset: DatasetView) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "description": run.description,
        "metadata": run.metadata,
        "datasetId": dataset.id,
        "datasetName": dataset.name,
        "createdAt": iso(run.start_time),
        "updatedAt": iso(run.end_time),
    }


@post("/dataset-run-items", status_code=200, opt=CREATE_RUN_ITEM.opt)
async def create_run_item(request: Request[Any, Any, State]) -> dict[str, Any]:
    """Link a trace or observation to a dataset item under a run (created when new)."""
    spec = run_item_spec(await json_body(request))
    storage, project_id = project_scope(request)
    return run_item_json(await ex.record_run_item(storage, project_id, spec))


async def _run_items(storage: Storage, project_id: str, experiment_id: str) -> list[dict[str, Any]]:
    items = await ex.experiment_run_items(storage, project_id, experiment_id, MAX_RUN_ITEMS)
    return [_item_run_json(i) for i in items]


@get("/dataset-run-items")
async def list_run_items(
    request: Request[Any, Any, State],
    dataset_id: Annotated[str | None, Parameter(query="datasetId")] = None,
    run_name: Annotated[str | None, Parameter(query="runName")] = None,
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """The run items of one run (by dataset id and run name), a page at a time."""
    if not dataset_id:
        raise InvalidInput("datasetId is required")
    if not run_name:
        raise InvalidInput("runName is required")
    storage, project_id = project_scope(request)
    eid = ex.experiment_id(project_id, dataset_id, run_name)
    items = await _run_items(storage, project_id, eid)
    return {"data": items[(page - 1) * limit : page * limit], "meta": page_meta(page, limit, len(items))}


async def _dataset(
    storage: Storage, project_id: str, *, name: str | None = None, dataset_id: str | None = None
) -> DatasetView:
    found = await datasets.fetch_dataset(storage, project_id, name=name, dataset_id=dataset_id)
    if found is None:
        raise NotFound(f"dataset {name or dataset_id!r} not found")
    return found


async def _run(storage: Storage, project_id: str, dataset: DatasetView, run_id: str) -> ex.ExperimentView:
    run = await ex.fetch_experiment(storage, project_id, run_id)
    if run is None or run.dataset_id != dataset.id:
        raise NotFound(f"dataset run {run_id!r} not found in dataset {dataset.name!r}")
    return run


def _path_parts(request: Request[Any, Any, State]) -> tuple[str, str | None]:
    """(dataset name, run name or None) of /datasets/{name}/runs[/{runName}], from the raw path so an
    encoded '/' stays inside a name."""
    parts = raw_path(request).removeprefix(DATASETS_PREFIX).split("/")
    if len(parts) not in (2, 3) or parts[1] != "runs" or not parts[0] or (len(parts) == 3 and not parts[2]):
        raise NotFound(f"{request.method} {request.url.path} is not supported by Langhouse")
    return unquote(parts[0]), unquote(parts[2]) if len(parts) == 3 else None


@get("/datasets/{rest:path}", opt=RUNS.opt)
async def get_dataset_runs(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """A dataset's runs (a page), or one run with its run items."""
    storage, project_id = project_scope(request)
    name, run_name = _path_parts(request)
    dataset = await _dataset(storage, project_id, name=name)
    if run_name is None:
        runs, total = await ex.list_dataset_experiments(storage, project_id, dataset.id, page, limit)
        return {"data": [run_json(r, dataset) for r in runs], "meta": page_meta(page, limit, total)}
    run = await _run(storage, project_id, dataset, ex.experiment_id(project_id, dataset.id, run_name))
    return run_json(run, dataset) | {"datasetRunItems": await _run_items(storage, project_id, run.id)}


@delete("/datasets/{rest:path}", status_code=200, opt=RUNS.opt)
async def delete_dataset_run(request: Request[Any, Any, State]) -> dict[str, Any]:
    """Delete a run and its run items (their traces and scores stay)."""
    storage, project_id = project_scope(request)
    name, run_name = _path_parts(request)
    if run_name is None:
        raise NotFound(f"{request.method} {request.url.path} is not supported by Langhouse")
    dataset = await _dataset(storage, project_id, name=name)
    run = await _run(storage, project_id, dataset, ex.experiment_id(project_id, dataset.id, run_name))
    await ex.delete_experiment(storage, project_id, run.id)
    return {"message": "Dataset run successfully deleted"}


@get("/v2/dataset-runs/by-dataset-id/{dataset_id:str}", opt=RUNS.opt)
async def list_runs_by_dataset_id(
    request: Request[Any, Any, State],
    dataset_id: str,
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    dataset = await _dataset(storage, project_id, dataset_id=dataset_id)
    runs, total = await ex.list_dataset_experiments(storage, project_id, dataset.id, page, limit)
    return {"data": [run_json(r, dataset) for r in runs], "meta": page_meta(page, limit, total)}


@get("/v2/dataset-runs/by-dataset-id/{dataset_id:str}/{run_id:str}", opt=RUNS.opt)
async def get_run_by_id(request: Request[Any, Any, State], dataset_id: str, run_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    dataset = await _dataset(storage, project_id, dataset_id=dataset_id)
    run = await _run(storage, project_id, dataset, run_id)
    return run_json(run, dataset) | {"datasetRunItems": await _run_items(storage, project_id, run.id)}


@delete("/v2/dataset-runs/by-dataset-id/{dataset_id:str}/{run_id:str}", status_code=200, opt=RUNS.opt)
async def delete_run_by_id(request: Request[Any, Any, State], dataset_id: str, run_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    dataset = await _dataset(storage, project_id, dataset_id=dataset_id)
    run = await _run(storage, project_id, dataset, run_id)
    await ex.delete_experiment(storage, project_id, run.id)
    return {"message": "Dataset run successfully deleted"}


DATASET_RUN_ROUTES = [
    create_run_item,
    list_run_items,
    get_dataset_runs,
    delete_dataset_run,
    list_runs_by_dataset_id,
    get_run_by_id,
    delete_run_by_id,
]
