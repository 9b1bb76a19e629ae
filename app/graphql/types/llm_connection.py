"""LLM connection types, inputs and payloads (the API key is write-only)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.playground.connections import ConnectionView, LlmConnectionSpec, header_object


@strawberry.enum(description="The API an LLM connection speaks.")
class LlmProvider(Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


@strawberry.type(
    description="A connection to an LLM provider (for the playground); its key is never readable."
)
class LlmConnection:
    id: strawberry.ID = strawberry.field(description="Connection id.")
    name: str = strawberry.field(description="Unique name in the project.")
    provider: LlmProvider = strawberry.field(description="OPENAI is any OpenAI-compatible API.")
    base_url: str = strawberry.field(description="The API's base URL, e.g. https://api.openai.com/v1.")
    models: list[str] = strawberry.field(description="Model names offered in the playground.")
    api_key_hint: str = strawberry.field(description="The API key's last characters, e.g. …a1b2.")
    extra_header_keys: list[str] = strawberry.field(
        description="Names of the extra headers sent with every call (their values are never readable)."
    )
    created_at: datetime = strawberry.field(description="When the connection was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")

    @classmethod
    def from_view(cls, view: ConnectionView) -> LlmConnection:
        return cls(
            id=strawberry.ID(view.connection_id),
            name=view.name,
            provider=LlmProvider(view.provider),
            base_url=view.base_url,
            models=view.models,
            api_key_hint=view.api_key_hint,
            extra_header_keys=view.extra_header_keys,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


@strawberry.input(description="A new LLM connection of the caller's project.")
class CreateLlmConnectionInput:
    name: str = strawberry.field(description="Unique name in the project, 1 to 255 characters.")
    provider: LlmProvider = strawberry.field(description="OPENAI (any OpenAI-compatible API) or ANTHROPIC.")
    models: list[str] = strawberry.field(description="1 to 100 model names.")
    api_key: str = strawberry.field(description="The provider's API key; stored encrypted, never returned.")
    base_url: str | None = strawberry.field(default=None, description="Default: the provider's API.")
    extra_headers: JSON | None = strawberry.field(
        default=None, description="Header name → value, sent with every call; values stored encrypted."
    )

    def as_input(self) -> LlmConnectionSpec:
        return LlmConnectionSpec(
            self.name,
            self.provider.value,
            self.base_url,
            self.models,
            self.api_key,
            header_object(self.extra_headers),
        )


@strawberry.type(description="The created connection.")
class CreateLlmConnectionPayload:
    llm_connection: LlmConnection = strawberry.field(description="The connection.")


@strawberry.input(description="Change an LLM connection; fields left out keep their value.")
class UpdateLlmConnectionInput:
    id: strawberry.ID = strawberry.field(description="The connection to change.")
    name: str | None = strawberry.field(default=None, description="New name.")
    base_url: str | None = strawberry.field(default=None, description="New base URL.")
    models: list[str] | None = strawberry.field(default=None, description="New model names.")
    api_key: str | None = strawberry.field(default=None, description="New API key.")
    extra_headers: JSON | None = strawberry.field(
        default=None, description="New extra headers (replacing the stored ones; {} removes them)."
    )

    def as_input(self, current: ConnectionView) -> LlmConnectionSpec:
        return LlmConnectionSpec(
            self.name if self.name is not None else current.name,
            current.provider,
            self.base_url if self.base_url is not None else current.base_url,
            self.models if self.models is not None else current.models,
            self.api_key,
            header_object(self.extra_headers),
        )


@strawberry.type(description="The changed connection.")
class UpdateLlmConnectionPayload:
    llm_connection: LlmConnection = strawberry.field(description="The connection.")


@strawberry.input(description="Delete an LLM connection of the caller's project.")
class DeleteLlmConnectionInput:
    id: strawberry.ID = strawberry.field(description="The connection to delete.")


@strawberry.type(description="What was deleted.")
class DeleteLlmConnectionPayload:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted connection's id.")
