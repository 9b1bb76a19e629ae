"""Comments on traces, observations, sessions and prompts: validation and storage."""

from __future__ import annotations

from typing import Any

from app.errors import InvalidInput
from app.storage import Storage
from app.storage.postgres import trace_notes
from app.storage.postgres.tables import Comment

OBJECT_TYPES = ("TRACE", "OBSERVATION", "SESSION", "PROMPT")
MAX_CONTENT = 5_000


async def create(
    storage: Storage,
    project_id: str,
    object_type: Any,
    object_id: Any,
    content: Any,
    author_user_id: str | None,
) -> Comment:
    kind = object_type.upper() if isinstance(object_type, str) else object_type
    if kind not in OBJECT_TYPES:
        raise InvalidInput(f"objectType must be one of {', '.join(OBJECT_TYPES)}")
    if not isinstance(object_id, str) or not object_id:
        raise InvalidInput("objectId is required")
    if not isinstance(content, str) or not 1 <= len(content.strip()) <= MAX_CONTENT:
        raise InvalidInput(f"content must be 1 to {MAX_CONTENT} characters")
    comment = Comment(
        project_id=project_id,
        object_type=kind,
        object_id=object_id,
        content=content,
        author_user_id=author_user_id,
    )
    return await trace_notes.create_comment(storage.postgres, comment)


async def for_object(storage: Storage, project_id: str, object_type: str, object_id: str) -> list[Comment]:
    """The newest comments on one object."""
    rows, _ = await trace_notes.list_comments(
        storage.postgres, project_id, object_type=object_type, object_id=object_id, limit=100
    )
    return rows


def to_api(c: Comment) -> dict[str, Any]:
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
