"""Comment types, inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.storage.postgres.tables import Comment as CommentRow


@strawberry.type(description="A comment on a trace, observation, session or prompt.")
class Comment:
    id: strawberry.ID = strawberry.field(description="Comment id.")
    object_type: str = strawberry.field(description="TRACE, OBSERVATION, SESSION or PROMPT.")
    object_id: str = strawberry.field(description="Id of what it is about.")
    content: str = strawberry.field(description="Text (markdown).")
    author_user_id: str | None = strawberry.field(description="Author (null when written with an API key).")
    created_at: datetime = strawberry.field(description="Written (UTC).")

    @classmethod
    def from_row(cls, c: CommentRow) -> Comment:
        return cls(
            id=strawberry.ID(c.id),
            object_type=c.object_type,
            object_id=c.object_id,
            content=c.content,
            author_user_id=c.author_user_id,
            created_at=c.created_at,
        )


@strawberry.input(description="Comment on a trace, observation, session or prompt.")
class CreateCommentInput:
    object_type: str = strawberry.field(description="TRACE, OBSERVATION, SESSION or PROMPT.")
    object_id: str = strawberry.field(description="Its id.")
    content: str = strawberry.field(description="Text, 1 to 5,000 characters.")


@strawberry.type(description="The new comment.")
class CreateCommentPayload:
    comment: Comment = strawberry.field(description="The comment.")
