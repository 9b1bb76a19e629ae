"""/api/public/v2/datasets and /api/public/dataset-items: datasets and their versioned items (Langfuse's
JSON shapes).

Dataset names may contain '/'; the SDKs send it percent-encoded (`a%2Fb`), which the ASGI server decodes
before routing, so the name is read from the raw path (one route takes the rest).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote

from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import iso, project_scope, raw_path
from app.errors import InvalidInput, NotFound
from app.evaluation import datasets
from app.evaluation.datasets import DatasetSpec, DatasetView, ItemQuery, ItemSpec, ItemStatus, ItemView
from app.http_json import ApiDoc, json_body
from app.storage.clickhouse.queries.common import check_time

DATASET_PREFIX = "/api/public/v2/datasets/"
NULLABLE_STRING = {"type": ["string", "null"]}
SCHEMA = {"type": ["object", "null"], "description": "A JSON Schema the items' values must match."}
CREATE_DATASET = ApiDoc(
    body={
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": NULLABLE_STRING,
            "metadata": {"description": "Any JSON value."},
            "inputSchema": SCHEMA,
            "expectedOutputSchema": SCHEMA,
        },
    }
)
CREATE_ITEM = ApiDoc(
    body={
        "type": "object",
        "required": ["datasetName"],
        "properties": {
            "datasetName": {"type": "string", "minLength": 1},
            "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
            "input": {"description": "Any JSON value."},
            "expectedOutput": {"description": "Any JSON value."},
            "metadata": {"description": "Any JSON value."},
            "sourceTraceId": NULLABLE_STRING,
            "sourceObservationId": NULLABLE_STRING,
            "status": {"type": ["string", "null"], "enum": ["ACTIVE", "ARCHIVED", None]},
        },
    },
    errors={
        404: "No dataset of that name.",
        409: "The id is an item of another dataset, or the item changed concurrently.",
    },
)
ITEMS = ApiDoc(errors={404: "No dataset of that name."})


def _text(body: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    return value


def _schema(body: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is not None and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON Schema object")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


def dataset_spec(body: Any) -> DatasetSpec:
    """A create body as a spec; InvalidInput names the field whose JSON type is wrong."""
    body = _object(body)
    return DatasetSpec(
        name=_text(body, "name", required=True) or "",
        description=_text(body, "description"),
        metadata=body.get("metadata"),
        input_schema=_schema(body, "inputSchema"),
        expected_output_schema=_schema(body, "expectedOutputSchema"),
    )


def item_spec(body: Any) -> ItemSpec:
    """A create body as a spec (null = absent, so the stored value stays)."""
    body = _object(body)
    status = body.get("status")
    if status is not None and status not in ItemStatus.__members__:
        raise InvalidInput("status must be ACTIVE or ARCHIVED")
    return ItemSpec(
        dataset_name=_text(body, "datasetName", required=True) or "",
        id=_text(body, "id"),
        input=body.get("input"),
        expected_output=body.get("expectedOutput"),
        metadata=body.get("metadata"),
        source_trace_id=_text(body, "sourceTraceId"),
        source_observation_id=_text(body, "sourceObservationId"),
        status=None if status is None else ItemStatus(status),
    )


def dataset_json(d: DatasetView) -> dict[str, Any]:
    """A dataset as the Langfuse API gives it."""
    return {
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "metadata": d.metadata,
        "inputSchema": d.input_schema,
        "expectedOutputSchema": d.expected_output_schema,
        "projectId": d.project_id,
        "createdAt": iso(d.created_at),
        "updatedAt": iso(d.updated_at),
    }


def item_json(item: ItemView) -> dict[str, Any]:
    """An item version as the Langfuse API gives it (media references are not resolved: always [])."""
    return {
        "id": item.id,
        "status": item.status.value,
        "input": item.input,
        "expectedOutput": item.expected_output,
        "metadata": item.metadata,
        "sourceTraceId": item.source_trace_id,
        "sourceObservationId": item.source_observation_id,
        "datasetId": item.dataset_id,
        "datasetName": item.dataset_name,
        "createdAt": iso(item.created_at),
        "updatedAt": iso(item.updated_at),
        "version": iso(item.version),
        "mediaReferences": [],
    }


def _dataset_name(request: Request[Any, Any, State]) -> str:
    """The name after the prefix, from the raw path so an encoded '/' stays in it."""
    path = raw_path(request)
    if not path.startswith(DATASET_PREFIX):
        raise NotFound("no such route")
    return unquote(path[len(DATASET_PREFIX) :])


@post("/v2/datasets", status_code=200, opt=CREATE_DATASET.opt)
async def create_dataset(request: Request[Any, Any, State]) -> dict[str, Any]:
    spec = dataset_spec(await json_body(request))
    storage, project_id = project_scope(request)
    return dataset_json(await datasets.upsert_dataset(storage, project_id, spec))


@get("/v2/datasets")
async def list_datasets(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    rows, total = await datasets.list_datasets_page(storage, project_id, page, limit)
    return {"data": [dataset_json(d) for d in rows], "meta": page_meta(page, limit, total)}


@get("/v2/datasets/{rest:path}", opt=ITEMS.opt)
async def get_dataset(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    name = _dataset_name(request)
    found = await datasets.fetch_dataset(storage, project_id, name=name)
    if found is None:
        raise NotFound(f"dataset {name!r} not found")
    return dataset_json(found)


@post("/dataset-items", status_code=200, opt=CREATE_ITEM.opt)
async def create_item(request: Request[Any, Any, State]) -> dict[str, Any]:
    spec = item_spec(await json_body(request))
    storage, project_id = project_scope(request)
    return item_json(await datasets.upsert_item(storage, project_id, spec))


@get("/dataset-items", opt=ITEMS.opt)
async def list_items(
    request: Request[Any, Any, State],
    dataset_name: Annotated[str | None, Parameter(query="datasetName")] = None,
    source_trace_id: Annotated[str | None, Parameter(query="sourceTraceId")] = None,
    source_observation_id: Annotated[str | None, Parameter(query="sourceObservationId")] = None,
    version: datetime | None = None,
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    if version is not None and not dataset_name:
        raise InvalidInput("version requires datasetName")
    query = ItemQuery(
        dataset_id="",
        dataset_name=dataset_name or None,
        version=version and check_time(version, "version"),
        source_trace_id=source_trace_id,
        source_observation_id=source_observation_id,
    )
    rows, total = await datasets.list_items_page(storage, project_id, query, page, limit)
    return {"data": [item_json(i) for i in rows], "meta": page_meta(page, limit, total)}


@get("/dataset-items/{item_id:str}")
async def get_item(request: Request[Any, Any, State], item_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    found = await datasets.fetch_item(storage, project_id, item_id)
    if found is None:
        raise NotFound(f"dataset item {item_id!r} not found")
    return item_json(found)


@delete("/dataset-items/{item_id:str}", status_code=200)
async def delete_item(request: Request[Any, Any, State], item_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    if not await datasets.delete_item(storage, project_id, item_id):
        raise NotFound(f"dataset item {item_id!r} not found")
    return {"message": "Dataset item successfully deleted"}


DATASET_ROUTES = [create_dataset, list_datasets, get_dataset, create_item, list_items, get_item, delete_item]
