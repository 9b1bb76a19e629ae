"""API key types, inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.storage.postgres.tables import ApiKey as ApiKeyRow


@strawberry.type(description="A project API key. The secret is never readable after creation.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Key id.")
    public_key: str = strawberry.field(description="The public part (HTTP Basic username).")
    display_secret_key: str = strawberry.field(description="A masked hint of the secret, e.g. sk-lh-...a1b2.")
    note: str | None = strawberry.field(description="Free-text note.")
    created_at: datetime = strawberry.field(description="When the key was created (UTC).")
    revoked_at: datetime | None = strawberry.field(description="When the key was revoked, if it was.")

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(row.id),
            public_key=row.public_key,
            display_secret_key=row.display_secret,
            note=row.note,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


@strawberry.input(description="Create an API key for the caller's project.")
class CreateApiKeyInput:
    note: str | None = strawberry.field(default=None, description="Free-text note, at most 255 characters.")


@strawberry.type(description="The new key; `secretKey` is shown this once only.")
class CreateApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key.")
    secret_key: str = strawberry.field(description="The secret key. Store it now: it cannot be read again.")


@strawberry.input(description="Revoke an API key of the caller's project.")
class RevokeApiKeyInput:
    public_key: str = strawberry.field(description="The public key to revoke.")


@strawberry.type(description="The revoked key.")
class RevokeApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key, now with revokedAt set.")
