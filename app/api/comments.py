"""/api/public/comments: create, list and read comments (Langfuse's JSON shapes)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import project_scope
from app.errors import InvalidInput
from app.http_json import ApiDoc, json_body
from app.storage.postgres.tables import Comment
from app.tracing import comments
from app.tracing.comments import NewComment

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


def new_comment(body: Any) -> NewComment:
    """A create body as a comment; a field of the wrong JSON type counts as missing (the rules name it)."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")

    def text(name: str) -> str:
        return body[name] if isinstance(body.get(name), str) else ""

    return NewComment(
        object_type=text("objectType"),
        object_id=text("objectId"),
        content=text("content"),
        author_user_id=text("authorUserId") or None,
    )


def comment_json(c: Comment) -> dict[str, Any]:
    """A comment as the Langfuse API gives it."""
    return {
        "id": c.id,
        "projectId": c.project_id,
        "objectType": c.object_type,
        "objectId": c.object_id,
        "content": c.content,
        "authorUserId": c.author_user_id,
        "createdAt": c.created_at.isoformat(),
        "updatedAt": c.updated_at.isoformat(),
    }


@post("/comments", status_code=200, opt=CREATE_COMMENT.opt)
async def create_comment(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    comment = await comments.create(storage, project_id, new_comment(await json_body(request)))
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
    rows, total = await comments.list_comments(
        storage,
        project_id,
        object_type=object_type,
        object_id=object_id,
        author_user_id=author_user_id,
        limit=limit,
        offset=(page - 1) * limit,
    )
    return {"data": [comment_json(c) for c in rows], "meta": page_meta(page, limit, total)}


@get("/comments/{comment_id:str}")
async def get_comment(request: Request[Any, Any, State], comment_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    return comment_json(await comments.get_comment(storage, project_id, comment_id))


COMMENT_ROUTES = [create_comment, list_comments, get_comment]
