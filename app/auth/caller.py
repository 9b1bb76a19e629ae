"""Who is calling: one project, one role, and whether a user or an API key stands behind it."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import Forbidden
from app.storage.postgres.tables import Role


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller, scoped to exactly one project."""

    project_id: str
    organization_id: str
    role: Role
    user_id: str | None = None
    api_key_id: str | None = None
    # Authenticated by the public key alone (a browser's `Authorization: Bearer pk-…`): may only send
    # scores to the batch API, never read.
    public_key_only: bool = False

    def require(self, role: Role) -> None:
        """Raise Forbidden unless the caller's role is at least `role`."""
        if not self.role.at_least(role):
            raise Forbidden(
                f"this action needs the {role.value} role in the project; you have {self.role.value}"
            )
