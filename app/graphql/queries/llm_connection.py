"""Query fields over the project's LLM connections (for the playground)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types.llm_connection import LlmConnection
from app.playground import connections


@strawberry.type
class LlmConnectionQueryMixin:
    @strawberry.field(description="The project's LLM connections (for the playground), by name.")
    async def llm_connections(self, info: Info[Context, None]) -> list[LlmConnection]:
        caller = info.context.require()
        views = await connections.list_connections(info.context.storage, caller.project_id)
        return [LlmConnection.from_view(v) for v in views]
