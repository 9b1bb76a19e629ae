"""/api/public/annotation-queues: queues, their items and assigned reviewers (Langfuse's JSON shapes).

The object an item names is not looked up (as in Langfuse): readers resolve it within the caller's
project. A duplicate queue name or an unknown score config is a 400, as the SDK expects.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import iso, project_scope
from app.errors import InvalidInput
from app.evaluation import annotation_queues as aq
from app.evaluation.annotation_queues import ItemStatus, NewQueueItem, ObjectType, QueueSpec
from app.http_json import ApiDoc, json_body
from app.storage.postgres.annotation_tables import AnnotationQueue, AnnotationQueueItem

BASE = "/annotation-queues"
ONE_QUEUE = BASE + "/{queue_id:str}"
ONE_ITEM = ONE_QUEUE + "/items/{item_id:str}"

TIME = {"type": "string", "format": "date-time"}
QUEUE_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "scoreConfigIds", "createdAt", "updatedAt"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "scoreConfigIds": {"type": "array", "items": {"type": "string"}},
        "createdAt": TIME,
        "updatedAt": TIME,
    },
}
ITEM_SCHEMA = {
    "type": "object",
    "required": ["id", "queueId", "objectId", "objectType", "status", "createdAt", "updatedAt"],
    "properties": {
        "id": {"type": "string"},
        "queueId": {"type": "string"},
        "objectId": {"type": "string"},
        "objectType": {"type": "string", "enum": list(ObjectType)},
        "status": {"type": "string", "enum": list(ItemStatus)},
        "completedAt": {"type": ["string", "null"], "format": "date-time"},
        "createdAt": TIME,
        "updatedAt": TIME,
    },
}


def _paged(schema: dict[str, Any]) -> dict[str, Any]:
    meta = {
        "type": "object",
        "required": ["page", "limit", "totalItems", "totalPages"],
        "properties": {k: {"type": "integer"} for k in ("page", "limit", "totalItems", "totalPages")},
    }
    return {
        "type": "object",
        "required": ["data", "meta"],
        "properties": {"data": {"type": "array", "items": schema}, "meta": meta},
    }


NOT_FOUND = "No annotation queue with that id in the key's project."
ITEM_NOT_FOUND = "No such annotation queue, or no such item in it."
LIST_QUEUES = ApiDoc(answers={200: _paged(QUEUE_SCHEMA)})
CREATE_QUEUE = ApiDoc(
    body={
        "type": "object",
        "required": ["name", "scoreConfigIds"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": aq.NAME_MAX},
            "description": {"type": ["string", "null"]},
            "scoreConfigIds": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": aq.MAX_CONFIGS,
                "description": "Score configs reviewers fill in, in this order (live configs only).",
            },
        },
    },
    answers={200: QUEUE_SCHEMA},
    errors={400: "The name is taken in the project, or a score config is unknown or archived."},
)
GET_QUEUE = ApiDoc(answers={200: QUEUE_SCHEMA}, errors={404: NOT_FOUND})
LIST_ITEMS = ApiDoc(answers={200: _paged(ITEM_SCHEMA)}, errors={404: NOT_FOUND})
CREATE_ITEM = ApiDoc(
    body={
        "type": "object",
        "required": ["objectId", "objectType"],
        "properties": {
            "objectId": {"type": "string", "minLength": 1, "maxLength": aq.OBJECT_ID_MAX},
            "objectType": {"type": "string", "enum": list(ObjectType)},
            "status": {
                "type": ["string", "null"],
                "enum": [*ItemStatus, None],
                "description": "PENDING when absent; COMPLETED stamps completedAt.",
            },
        },
    },
    answers={200: ITEM_SCHEMA},
    errors={404: NOT_FOUND},
)
GET_ITEM = ApiDoc(answers={200: ITEM_SCHEMA}, errors={404: ITEM_NOT_FOUND})
UPDATE_ITEM = ApiDoc(
    body={
        "type": "object",
        "properties": {
            "status": {
                "type": ["string", "null"],
                "enum": [*ItemStatus, None],
                "description": "COMPLETED stamps completedAt, PENDING clears it; absent: unchanged.",
            }
        },
    },
    answers={200: ITEM_SCHEMA},
    errors={404: ITEM_NOT_FOUND},
)
DELETE_ITEM = ApiDoc(
    answers={
        200: {
            "type": "object",
            "required": ["success", "message"],
            "properties": {"success": {"type": "boolean"}, "message": {"type": "string"}},
        }
    },
    errors={404: ITEM_NOT_FOUND},
)
ASSIGNMENT_BODY = {
    "type": "object",
    "required": ["userId"],
    "properties": {"userId": {"type": "string", "minLength": 1}},
}
CREATE_ASSIGNMENT = ApiDoc(
    body=ASSIGNMENT_BODY,
    answers={
        200: {
            "type": "object",
            "required": ["userId", "queueId", "projectId"],
            "properties": {k: {"type": "string"} for k in ("userId", "queueId", "projectId")},
        }
    },
    errors={
        400: "The user has the viewer role in the project (viewers cannot annotate).",
        404: "No such queue, or the user is not a member of the project.",
    },
)
DELETE_ASSIGNMENT = ApiDoc(
    body=ASSIGNMENT_BODY,
    answers={
        200: {"type": "object", "required": ["success"], "properties": {"success": {"type": "boolean"}}}
    },
    errors={404: NOT_FOUND},
)


def queue_json(q: AnnotationQueue) -> dict[str, Any]:
    """A queue as the Langfuse API gives it."""
    return {
        "id": q.id,
        "name": q.name,
        "description": q.description,
        "scoreConfigIds": list(q.score_config_ids),
        "createdAt": iso(q.created_at),
        "updatedAt": iso(q.updated_at),
    }


def item_json(i: AnnotationQueueItem) -> dict[str, Any]:
    """A queue item as the Langfuse API gives it."""
    return {
        "id": i.id,
        "queueId": i.queue_id,
        "objectId": i.object_id,
        "objectType": i.object_type,
        "status": i.status,
        "completedAt": iso(i.completed_at),
        "createdAt": iso(i.created_at),
        "updatedAt": iso(i.updated_at),
    }


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} is required (a non-empty string)")
    return value


def queue_spec(body: Any) -> QueueSpec:
    """A create body as a queue spec; InvalidInput names the field whose JSON type is wrong."""
    body = _object(body)
    name, description = body.get("name"), body.get("description")
    if not isinstance(name, str):
        raise InvalidInput("name is required (a string)")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description must be a string or null")
    ids = body.get("scoreConfigIds", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("scoreConfigIds must be a list of score config ids")
    return QueueSpec(name=name, description=description, score_config_ids=tuple(ids))


def new_item(body: Any) -> NewQueueItem:
    """A create-item body as a new item; status defaults to PENDING."""
    body = _object(body)
    status = body.get("status")
    return NewQueueItem(
        object_type=aq.object_type(body.get("objectType")),
        object_id=_text(body, "objectId"),
        status=ItemStatus.PENDING if status is None else aq.item_status(status),
    )


@get(BASE, opt=LIST_QUEUES.opt)
async def list_queues(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    rows, total = await aq.list_queues_page(storage, project_id, page, limit)
    return {"data": [queue_json(q) for q in rows], "meta": page_meta(page, limit, total)}


@post(BASE, status_code=200, opt=CREATE_QUEUE.opt)
async def create_queue(request: Request[Any, Any, State]) -> dict[str, Any]:
    spec = queue_spec(await json_body(request))
    storage, project_id = project_scope(request)
    return queue_json(await aq.create_queue(storage, project_id, spec))


@get(ONE_QUEUE, opt=GET_QUEUE.opt)
async def get_queue(request: Request[Any, Any, State], queue_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    return queue_json(await aq.get_queue(storage, project_id, queue_id))


@get(ONE_QUEUE + "/items", opt=LIST_ITEMS.opt)
async def list_items(
    request: Request[Any, Any, State],
    queue_id: str,
    status: Annotated[str | None, Parameter(description="PENDING or COMPLETED; absent: both.")] = None,
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    wanted = None if status is None else aq.item_status(status)
    storage, project_id = project_scope(request)
    rows, total = await aq.list_items_page(storage, project_id, queue_id, wanted, page, limit)
    return {"data": [item_json(i) for i in rows], "meta": page_meta(page, limit, total)}


@post(ONE_QUEUE + "/items", status_code=200, opt=CREATE_ITEM.opt)
async def create_item(request: Request[Any, Any, State], queue_id: str) -> dict[str, Any]:
    new = new_item(await json_body(request))
    storage, project_id = project_scope(request)
    [item] = await aq.add_items(storage, project_id, queue_id, [new])
    return item_json(item)


@get(ONE_ITEM, opt=GET_ITEM.opt)
async def get_item(request: Request[Any, Any, State], queue_id: str, item_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    return item_json(await aq.get_item(storage, project_id, queue_id, item_id))


@patch(ONE_ITEM, opt=UPDATE_ITEM.opt)
async def update_item(request: Request[Any, Any, State], queue_id: str, item_id: str) -> dict[str, Any]:
    # The SDK sends no body at all when `status` is left out.
    body = await json_body(request) if (await request.body()).strip() else {}
    status = _object(body).get("status")
    storage, project_id = project_scope(request)
    if status is None:  # nothing to change
        return item_json(await aq.get_item(storage, project_id, queue_id, item_id))
    item = await aq.set_item_status(storage, project_id, queue_id, item_id, aq.item_status(status))
    return item_json(item)


@delete(ONE_ITEM, status_code=200, opt=DELETE_ITEM.opt)
async def delete_item(request: Request[Any, Any, State], queue_id: str, item_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    await aq.delete_item(storage, project_id, queue_id, item_id)
    return {"success": True, "message": "Annotation queue item deleted successfully"}


@post(ONE_QUEUE + "/assignments", status_code=200, opt=CREATE_ASSIGNMENT.opt)
async def create_assignment(request: Request[Any, Any, State], queue_id: str) -> dict[str, Any]:
    user_id = _text(_object(await json_body(request)), "userId")
    storage, project_id = project_scope(request)
    assignment = await aq.assign_user(storage, project_id, queue_id, user_id)
    return {"userId": assignment.user_id, "queueId": assignment.queue_id, "projectId": assignment.project_id}


@delete(ONE_QUEUE + "/assignments", status_code=200, opt=DELETE_ASSIGNMENT.opt)
async def delete_assignment(request: Request[Any, Any, State], queue_id: str) -> dict[str, Any]:
    user_id = _text(_object(await json_body(request)), "userId")
    storage, project_id = project_scope(request)
    await aq.unassign_user(storage, project_id, queue_id, user_id)
    return {"success": True}


ANNOTATION_QUEUE_ROUTES = [
    list_queues,
    create_queue,
    get_queue,
    list_items,
    create_item,
    get_item,
    update_item,
    delete_item,
    create_assignment,
    delete_assignment,
]
