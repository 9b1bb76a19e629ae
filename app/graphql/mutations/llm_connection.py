"""Mutation fields over LLM connections: create, change, delete (admin role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.evaluation import judge_connections
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types import llm_connection as lc
from app.playground import connections


@strawberry.type
class LlmConnectionMutationMixin:
    @strawberry.mutation(
        description="Create an LLM connection; its API key is kept encrypted (admin role).",
        permission_classes=[IsAdmin],
    )
    async def create_llm_connection(
        self, info: Info[Context, None], input: lc.CreateLlmConnectionInput
    ) -> lc.CreateLlmConnectionPayload:
        caller = info.context.require()
        view = await connections.create_connection(info.context.storage, caller.project_id, input.as_input())
        return lc.CreateLlmConnectionPayload(llm_connection=lc.LlmConnection.from_view(view))

    @strawberry.mutation(description="Change an LLM connection (admin role).", permission_classes=[IsAdmin])
    async def update_llm_connection(
        self, info: Info[Context, None], input: lc.UpdateLlmConnectionInput
    ) -> lc.UpdateLlmConnectionPayload:
        caller = info.context.require()
        storage, connection_id = info.context.storage, str(input.id)
        current = await connections.fetch_connection(storage, caller.project_id, connection_id)
        view = await connections.update_connection(
            storage, caller.project_id, connection_id, input.as_input(current)
        )
        return lc.UpdateLlmConnectionPayload(llm_connection=lc.LlmConnection.from_view(view))

    @strawberry.mutation(description="Delete an LLM connection (admin role).", permission_classes=[IsAdmin])
    async def delete_llm_connection(
        self, info: Info[Context, None], input: lc.DeleteLlmConnectionInput
    ) -> lc.DeleteLlmConnectionPayload:
        caller = info.context.require()
        await judge_connections.delete_connection(info.context.storage, caller.project_id, str(input.id))
        return lc.DeleteLlmConnectionPayload(deleted_id=input.id)
