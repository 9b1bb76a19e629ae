"""build_schema(): queries, mutations and the limits every request runs under."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import Info

from app.auth import keys
from app.errors import NotFound, StoreUnavailable, UserError
from app.graphql.context import Context, require_caller
from app.graphql.cost import QueryCostLimiter
from app.graphql.types import llm_connection as lc
from app.graphql.types import reads as r
from app.graphql.types.api_key import (
    ApiKey,
    CreateApiKeyInput,
    CreateApiKeyPayload,
    RevokeApiKeyInput,
    RevokeApiKeyPayload,
)
from app.graphql.types.project import AuthMethod, Project, ProjectRole, Viewer
from app.graphql.types.prompt import PromptMutation, PromptQuery
from app.playground import connections
from app.storage import unavailable_store
from app.storage.postgres import accounts
from app.storage.postgres.models import Role

log = logging.getLogger(__name__)
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000


@strawberry.type(description="Read the caller's project.")
class Query(r.ReadQuery, PromptQuery):
    @strawberry.field(description="The caller and the project their credentials grant.")
    async def viewer(self, info: Info[Context, None]) -> Viewer:
        caller = require_caller(info.context)
        storage = info.context.storage
        found = await accounts.fetch_project(storage.postgres, caller.project_id)
        if found is None:
            raise NotFound("project not found")
        user = await accounts.fetch_user(storage.postgres, caller.user_id) if caller.user_id else None
        return Viewer(
            project=Project.from_rows(*found),
            role=ProjectRole(caller.role.value),
            auth_method=AuthMethod.SESSION if caller.user_id else AuthMethod.API_KEY,
            user_email=user.email if user else None,
        )

    @strawberry.field(description="The caller's project (the one its credentials grant).")
    async def project(self, info: Info[Context, None]) -> Project:
        caller = require_caller(info.context)
        found = await accounts.fetch_project(info.context.storage.postgres, caller.project_id)
        if found is None:
            raise NotFound("project not found")
        return Project.from_rows(*found)

    @strawberry.field(description="The project's API keys, newest first (admin role).")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        caller = require_caller(info.context)
        caller.require(Role.ADMIN)
        rows = await accounts.list_api_keys(info.context.storage.postgres, caller.project_id)
        return [ApiKey.from_row(r) for r in rows]

    @strawberry.field(description="The project's LLM connections (for the playground), by name.")
    async def llm_connections(self, info: Info[Context, None]) -> list[lc.LlmConnection]:
        caller = require_caller(info.context)
        views = await connections.list_connections(info.context.storage, caller.project_id)
        return [lc.LlmConnection.from_view(v) for v in views]


@strawberry.type(description="Change the caller's project.")
class Mutation(r.ReadMutation, PromptMutation):
    @strawberry.mutation(description="Create an API key; the secret is returned once (admin role).")
    async def create_api_key(
        self, info: Info[Context, None], input: CreateApiKeyInput
    ) -> CreateApiKeyPayload:
        caller = require_caller(info.context)
        caller.require(Role.ADMIN)
        issued = await keys.issue_api_key(info.context.storage, caller.project_id, input.note)
        return CreateApiKeyPayload(api_key=ApiKey.from_row(issued.key), secret_key=issued.secret_key)

    @strawberry.mutation(description="Revoke an API key of the project at once (admin role).")
    async def revoke_api_key(
        self, info: Info[Context, None], input: RevokeApiKeyInput
    ) -> RevokeApiKeyPayload:
        caller = require_caller(info.context)
        caller.require(Role.ADMIN)
        key = await keys.revoke_api_key(info.context.storage, caller.project_id, input.public_key)
        return RevokeApiKeyPayload(api_key=ApiKey.from_row(key))

    @strawberry.mutation(description="Create an LLM connection; its API key is kept encrypted (admin role).")
    async def create_llm_connection(
        self, info: Info[Context, None], input: lc.CreateLlmConnectionInput
    ) -> lc.CreateLlmConnectionPayload:
        caller = require_caller(info.context)
        caller.require(Role.ADMIN)
        view = await connections.create_connection(info.context.storage, caller.project_id, input.as_input())
        return lc.CreateLlmConnectionPayload(llm_connection=lc.LlmConnection.from_view(view))

    @strawberry.mutation(description="Change an LLM connection (admin role).")
    async def update_llm_connection(
        self, info: Info[Context, None], input: lc.UpdateLlmConnectionInput
    ) -> lc.UpdateLlmConnectionPayload:
        caller = require_caller(info.context)
        caller.require(Role.ADMIN)
        storage, connection_id = info.context.storage, str(input.id)
        current = await connections.fetch_connection(storage, caller.project_id, connection_id)
        view = await connections.update_connection(
            storage, caller.project_id, connection_id, input.as_input(current)
        )
        return lc.UpdateLlmConnectionPayload(llm_connection=lc.LlmConnection.from_view(view))

    @strawberry.mutation(description="Delete an LLM connection (admin role).")
    async def delete_llm_connection(
        self, info: Info[Context, None], input: lc.DeleteLlmConnectionInput
    ) -> lc.DeleteLlmConnectionPayload:
        caller = require_caller(info.context)
        caller.require(Role.ADMIN)
        await connections.delete_connection(info.context.storage, caller.project_id, str(input.id))
        return lc.DeleteLlmConnectionPayload(deleted_id=input.id)


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, UserError):
        return False  # GraphQL validation errors and our user errors are safe to show
    if (store := unavailable_store(original)) is not None:
        error.original_error = StoreUnavailable(store)  # the controller answers 503 (app.graphql.app)
        error.message = str(error.original_error)
        error.extensions = {"code": StoreUnavailable.code}
        return False
    error_id = uuid.uuid4().hex[:12]
    log.error("graphql internal error %s", error_id, exc_info=original)
    error.extensions = {**(error.extensions or {}), "errorId": error_id}
    return True


class _MaskInternalErrors(MaskErrors):
    """Mask everything but user errors to 'internal error' plus an id that is logged with the traceback."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "internal_error", "errorId": (error.extensions or {}).get("errorId")}
        return masked


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log nothing here: internal errors are logged once, with their id, when they are masked."""


def build_schema() -> strawberry.Schema:
    """The schema with depth, alias and token limits and error masking."""
    return _Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            QueryCostLimiter,
            lambda: _MaskInternalErrors(should_mask_error=_should_mask, error_message="internal error"),
        ],
    )
