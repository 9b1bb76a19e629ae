"""Mutation fields over comments: create (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import comment as c
from app.tracing import comments
from app.tracing.comments import NewComment


@strawberry.type
class CommentMutationMixin:
    @strawberry.mutation(
        description="Comment on a trace, observation, session or prompt (member role).",
        permission_classes=[IsMember],
    )
    async def create_comment(
        self, info: Info[Context, None], input: c.CreateCommentInput
    ) -> c.CreateCommentPayload:
        caller = info.context.require()
        new = NewComment(input.object_type, input.object_id, input.content, caller.user_id)
        comment = await comments.create(info.context.storage, caller.project_id, new)
        return c.CreateCommentPayload(comment=c.Comment.from_row(comment))
