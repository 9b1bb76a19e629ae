"""Role guards for whole fields: `permission_classes=[IsMember]` or `[IsAdmin]`."""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from app.graphql.context import Context
from app.storage.postgres.tables import Role


class _RoleAtLeast(BasePermission):
    """The caller must be authenticated and hold at least `role` in the project.

    It raises rather than returning False so that clients get the same Unauthorized or Forbidden error
    (naming the role needed and the caller's) as everywhere else in Langhouse.
    """

    role: ClassVar[Role]

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        info.context.require().require(self.role)
        return True


class IsMember(_RoleAtLeast):
    """Member role or above: viewers only read."""

    role = Role.MEMBER


class IsAdmin(_RoleAtLeast):
    """Admin role or above."""

    role = Role.ADMIN
