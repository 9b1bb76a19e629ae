"""/api/public/comments: create, list and read comments."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import project_scope
from app.errors import InvalidInput, NotFound
from app.http_json import ApiDoc, json_body
from app.storage.postgres import trace_notes
from app.tracing import comments

CREATE_COMMENT = ApiDoc(
    body={
        "type": "object",
        "required": ["objectType", "objectId", "content"],
        "properties": {
            "objectType": {"type": "string", "enum": list(comments.OBJECT_TYPES)},
            "objectId": {"type": "string", "minLength": 1},
            "content": {"type": "string", "minLength": 1},
            "authorUserId": {"type": ["string", "null"]},
        },
    },
    answers={200: {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}},
)


@post("/comments", status_code=200, opt=CREATE_COMMENT.opt)
async def create_comment(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    comment = await comments.create(
        storage,
        project_id,
        body.get("objectType"),
        body.get("objectId"),
        body.get("content"),
        body.get("authorUserId") if isinstance(body.get("authorUserId"), str) else None,
    )
    return {"id": comment.id}


@get("/comments")
async def list_comments(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    object_type: Annotated[str | None, Parameter(query="objectType")] = None,
    object_id: Annotated[str | None, Parameter(query="objectId")] = None,
    author_user_id: Annotated[str | None, Parameter(query="authorUserId")] = None,
) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    rows, total = await trace_notes.list_comments(
        storage.postgres,
        project_id,
        object_type=object_type,
        object_id=object_id,
        author_user_id=author_user_id,
        limit=limit,
        offset=(page - 1) * limit,
    )
    return {"data": [comments.to_api(c) for c in rows], "meta": page_meta(page, limit, total)}


@get("/comments/{comment_id:str}")
async def get_comment(request: Request[Any, Any, State], comment_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    found = await trace_notes.fetch_comment(storage.postgres, project_id, comment_id)
    if found is None:
        raise NotFound(f"comment {comment_id!r} not found")
    return comments.to_api(found)


COMMENT_ROUTES = [create_comment, list_comments, get_comment]
