"""Mutation fields over traces: delete, bookmark, share publicly (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import trace as t
from app.tracing import trace_service


@strawberry.type
class TraceMutationMixin:
    @strawberry.mutation(
        description="Delete traces with their observations and scores (member role).",
        permission_classes=[IsMember],
    )
    async def delete_traces(
        self, info: Info[Context, None], input: t.DeleteTracesInput
    ) -> t.DeleteTracesPayload:
        caller = info.context.require()
        deleted = await trace_service.delete_traces(info.context.storage, caller.project_id, input.trace_ids)
        return t.DeleteTracesPayload(deleted_ids=deleted)

    @strawberry.mutation(
        description="Bookmark a trace or remove its bookmark (member role).", permission_classes=[IsMember]
    )
    async def bookmark_trace(self, info: Info[Context, None], input: t.BookmarkTraceInput) -> t.TracePayload:
        caller = info.context.require()
        view = await trace_service.set_flags(
            info.context.storage, caller.project_id, input.trace_id, bookmarked=input.bookmarked
        )
        return t.TracePayload(trace=t.Trace.from_view(view))

    @strawberry.mutation(
        description="Share a trace publicly or stop sharing it (member role).", permission_classes=[IsMember]
    )
    async def set_trace_public(
        self, info: Info[Context, None], input: t.SetTracePublicInput
    ) -> t.TracePayload:
        caller = info.context.require()
        view = await trace_service.set_flags(
            info.context.storage, caller.project_id, input.trace_id, public=input.public
        )
        return t.TracePayload(trace=t.Trace.from_view(view))
