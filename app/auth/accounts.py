"""Account operations shared by the CLI, GraphQL and the UI: projects, users, memberships."""

from __future__ import annotations

from app.auth.caller import Caller
from app.auth.passwords import hash_password
from app.errors import Forbidden, InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.models import Organization, Project, Role, User

MAX_NAME = 255


def check_name(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_NAME:
        raise InvalidInput(f"{field} must be 1 to {MAX_NAME} characters")
    return value


async def ensure_organization(storage: Storage, name: str) -> Organization:
    """Find an organization by name, creating it if missing."""
    name = check_name(name, "organization name")
    return await accounts.find_organization(storage.postgres, name) or await accounts.create_organization(
        storage.postgres, name
    )


async def ensure_project(storage: Storage, organization: Organization, name: str) -> Project:
    """Find a project by name in an organization, creating it if missing."""
    name = check_name(name, "project name")
    existing = await accounts.find_project(storage.postgres, organization.id, name)
    return existing or await accounts.create_project(storage.postgres, organization.id, name)


async def create_project(storage: Storage, organization: Organization, name: str) -> Project:
    """Create a project; Conflict when the organization already has one of that name."""
    return await accounts.create_project(storage.postgres, organization.id, check_name(name, "project name"))


async def resolve_project(storage: Storage, ref: str) -> Project:
    """Find a project by id, or by name when exactly one project has that name."""
    found = await accounts.fetch_project(storage.postgres, ref)
    if found is not None:
        return found[0]
    matches = await accounts.find_projects_by_name(storage.postgres, ref)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidInput(f"several projects are named {ref!r}; pass the project id instead")
    raise NotFound(f"no project with id or name {ref!r}")


def normalize_email(email: str) -> str:
    """An email address as stored (trimmed, lower case); InvalidInput naming the field otherwise."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("email must be an address like name@example.com")
    return email


def grantable_role(caller: Caller, role: str) -> Role:
    """The role `caller` may give someone: a known role, never above the caller's own."""
    try:
        granted = Role(role)
    except ValueError as exc:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}") from exc
    if not caller.role.at_least(granted):
        raise Forbidden(f"you cannot grant the {granted.value} role (yours is {caller.role.value})")
    return granted


def scope_project(caller: Caller, scope: str) -> str | None:
    """The project a role applies to: the caller's for scope "project", none for "organization"."""
    if scope not in ("project", "organization"):
        raise InvalidInput("scope must be project or organization")
    return caller.project_id if scope == "project" else None


async def create_user(
    storage: Storage, email: str, password: str, organization: Organization | None, role: Role
) -> User:
    """Create a user with a hashed password, optionally as a member of an organization."""
    email = normalize_email(email)
    user = await accounts.create_user(storage.postgres, email, hash_password(password))
    if organization is not None:
        await accounts.set_membership(storage.postgres, user.id, organization.id, role)
    return user
