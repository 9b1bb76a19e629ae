"""Query fields over the caller's project: the viewer and the project."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import NotFound
from app.graphql.context import Context
from app.graphql.types.project import AuthMethod, Project, ProjectRole, Viewer
from app.storage.postgres import accounts


@strawberry.type
class ProjectQueryMixin:
    @strawberry.field(description="The caller and the project their credentials grant.")
    async def viewer(self, info: Info[Context, None]) -> Viewer:
        caller = info.context.require()
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
        caller = info.context.require()
        found = await accounts.fetch_project(info.context.storage.postgres, caller.project_id)
        if found is None:
            raise NotFound("project not found")
        return Project.from_rows(*found)
