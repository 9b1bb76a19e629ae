"""Query fields over the project's API keys (admin role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types.api_key import ApiKey
from app.storage.postgres import accounts


@strawberry.type
class ApiKeyQueryMixin:
    @strawberry.field(
        description="The project's API keys, newest first (admin role).", permission_classes=[IsAdmin]
    )
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        caller = info.context.require()
        rows = await accounts.list_api_keys(info.context.storage.postgres, caller.project_id)
        return [ApiKey.from_row(r) for r in rows]
