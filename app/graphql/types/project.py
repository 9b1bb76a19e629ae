"""Organization, Project, Viewer and the role enum."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.storage.postgres.tables import Organization as OrganizationRow
from app.storage.postgres.tables import Project as ProjectRow


@strawberry.enum(description="A member's role in a project, from most to least powerful.")
class ProjectRole(Enum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


@strawberry.enum(description="How the caller proved who they are.")
class AuthMethod(Enum):
    API_KEY = "api_key"
    SESSION = "session"


@strawberry.type(description="An organization: it owns projects and has members.")
class Organization:
    id: strawberry.ID = strawberry.field(description="Organization id.")
    name: str = strawberry.field(description="Organization name.")

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Organization:
        return cls(id=strawberry.ID(row.id), name=row.name)


@strawberry.type(description="A project: the unit that owns traces, prompts, scores and API keys.")
class Project:
    id: strawberry.ID = strawberry.field(description="Project id.")
    name: str = strawberry.field(description="Project name.")
    retention_days: int | None = strawberry.field(description="Days data is kept; null keeps it forever.")
    organization: Organization = strawberry.field(description="The organization owning the project.")

    @classmethod
    def from_rows(cls, project: ProjectRow, org: OrganizationRow) -> Project:
        return cls(
            id=strawberry.ID(project.id),
            name=project.name,
            retention_days=project.retention_days,
            organization=Organization.from_row(org),
        )


@strawberry.type(description="The authenticated caller and the project their credentials grant.")
class Viewer:
    project: Project = strawberry.field(description="The caller's project; every query is scoped to it.")
    role: ProjectRole = strawberry.field(description="The caller's role in the project.")
    auth_method: AuthMethod = strawberry.field(description="Whether an API key or a browser session is used.")
    user_email: str | None = strawberry.field(description="The logged-in user's email (sessions only).")
