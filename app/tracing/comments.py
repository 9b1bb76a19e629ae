"""Comments on traces, observations, sessions and prompts: the rules, storage and reads."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import trace_notes
from app.storage.postgres.tables import Comment

OBJECT_TYPES = ("TRACE", "OBSERVATION", "SESSION", "PROMPT")
MAX_CONTENT = 5_000


@dataclass(frozen=True, slots=True)
class NewComment:
    """A comment to store on one object (`object_type` in any case)."""

    object_type: str
    object_id: str
    content: str
    author_user_id: str | None = None


async def create(storage: Storage, project_id: str, new: NewComment) -> Comment:
    """Store a comment; InvalidInput names what breaks the rules."""
    kind = new.object_type.upper()
    if kind not in OBJECT_TYPES:
        raise InvalidInput(f"objectType must be one of {', '.join(OBJECT_TYPES)}")
    if not new.object_id:
        raise InvalidInput("objectId is required")
    if not 1 <= len(new.content.strip()) <= MAX_CONTENT:
        raise InvalidInput(f"content must be 1 to {MAX_CONTENT} characters")
    comment = Comment(
        project_id=project_id,
        object_type=kind,
        object_id=new.object_id,
        content=new.content,
        author_user_id=new.author_user_id,
    )
    return await trace_notes.create_comment(storage.postgres, comment)


@dataclass(frozen=True, slots=True)
class AuthoredComment:
    """A comment as people read it: `author` is its user's name or email; None when an API key wrote it
    or its author is not in the project's organization."""

    comment: Comment
    author: str | None


async def for_object(
    storage: Storage, project_id: str, object_type: str, object_id: str
) -> list[AuthoredComment]:
    """The newest comments on one object, with their authors."""
    rows = await trace_notes.object_comments(storage.postgres, project_id, object_type, object_id, 100)
    return [AuthoredComment(c, author) for c, author in rows]


async def list_comments(
    storage: Storage,
    project_id: str,
    *,
    object_type: str | None,
    object_id: str | None,
    author_user_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Comment], int]:
    """One page of the project's comments, newest first, and how many match in all."""
    return await trace_notes.list_comments(
        storage.postgres,
        project_id,
        object_type=object_type,
        object_id=object_id,
        author_user_id=author_user_id,
        limit=limit,
        offset=offset,
    )


async def get_comment(storage: Storage, project_id: str, comment_id: str) -> Comment:
    """One comment of the project; NotFound if there is none with that id."""
    found = await trace_notes.fetch_comment(storage.postgres, project_id, comment_id)
    if found is None:
        raise NotFound(f"comment {comment_id!r} not found")
    return found
