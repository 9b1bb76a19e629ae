"""Mutation fields over API keys: create and revoke (admin role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.auth import keys
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types import api_key as k


@strawberry.type
class ApiKeyMutationMixin:
    @strawberry.mutation(
        description="Create an API key; the secret is returned once (admin role).",
        permission_classes=[IsAdmin],
    )
    async def create_api_key(
        self, info: Info[Context, None], input: k.CreateApiKeyInput
    ) -> k.CreateApiKeyPayload:
        caller = info.context.require()
        issued = await keys.issue_api_key(info.context.storage, caller.project_id, input.note)
        return k.CreateApiKeyPayload(api_key=k.ApiKey.from_row(issued.key), secret_key=issued.secret_key)

    @strawberry.mutation(
        description="Revoke an API key of the project at once (admin role).", permission_classes=[IsAdmin]
    )
    async def revoke_api_key(
        self, info: Info[Context, None], input: k.RevokeApiKeyInput
    ) -> k.RevokeApiKeyPayload:
        caller = info.context.require()
        key = await keys.revoke_api_key(info.context.storage, caller.project_id, input.public_key)
        return k.RevokeApiKeyPayload(api_key=k.ApiKey.from_row(key))
