"""Account operations shared by the CLI, GraphQL and the UI: projects, users, memberships."""

from __future__ import annotations

from app.auth.caller import Caller
from app.auth.passwords import hash_password
from app.errors import Forbidden, InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Organization, Project, Role, User

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


async def only_project(storage: Storage) -> Project:
    """The installation's one project (the CLI's default); InvalidInput when there are several."""
    found = await accounts.list_projects(storage.postgres, 2)
    if not found:
        raise NotFound("no project yet; create one with `langhouse project create`")
    if len(found) > 1:
        raise InvalidInput("there are several projects; pass --project (its id or name)")
    return found[0]


def normalize_email(email: str) -> str:
    """An email address as stored (trimmed, lower case); InvalidInput naming the field otherwise."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("email must be an address like name@example.com")
    return email


async def grant(storage: Storage, caller: Caller, role: str, scope: str) -> tuple[Role, str | None]:
    """The role and project (None: organization-wide) `caller` may grant: a known role, never above
    their own; an organization-wide grant also needs the caller's organization role to be admin or
    above and at least the granted role (a project-only admin cannot reach other projects)."""
    try:
        granted = Role(role)
    except ValueError as exc:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}") from exc
    if not caller.role.at_least(granted):
        raise Forbidden(f"you cannot grant the {granted.value} role (yours is {caller.role.value})")
    if scope == "project":
        return granted, caller.project_id
    if scope != "organization":
        raise InvalidInput("scope must be project or organization")
    org_role = caller.user_id and await accounts.fetch_organization_role(
        storage.postgres, caller.user_id, caller.organization_id
    )
    if not org_role or not org_role.at_least(Role.ADMIN) or not org_role.at_least(granted):
        raise Forbidden(
            f"an organization-wide {granted.value} role needs that role and admin or above in the "
            "organization; grant a role in this project instead"
        )
    return granted, None


async def _require_owner_for_owner(storage: Storage, caller: Caller, user_id: str) -> None:
    """Forbidden unless the caller is an owner when the user is an owner here (organization or project)."""
    roles = await accounts.fetch_member_roles(
        storage.postgres, user_id, caller.organization_id, caller.project_id
    )
    if Role.OWNER in roles and caller.role != Role.OWNER:
        raise Forbidden("only an owner can change an owner's role")


async def set_member_role(storage: Storage, caller: Caller, email: str, role: str, scope: str) -> None:
    """Give an existing user a role in the caller's project or organization. Only owners grant or
    change the owner role, and the organization's last owner keeps it (InvalidInput)."""
    granted, project_id = await grant(storage, caller, role, scope)
    user = await accounts.find_user(storage.postgres, email.strip().lower())
    if user is None:
        raise NotFound(f"no user {email!r}: invite them from the Invitations page")
    await _require_owner_for_owner(storage, caller, user.id)
    await accounts.set_membership(storage.postgres, user.id, caller.organization_id, granted, project_id)


async def reset_project_role(storage: Storage, caller: Caller, user_id: str) -> None:
    """Drop a user's role override in the caller's project (owners' overrides only by an owner)."""
    await _require_owner_for_owner(storage, caller, user_id)
    await accounts.remove_project_role(storage.postgres, user_id, caller.organization_id, caller.project_id)


async def set_role_by_name(storage: Storage, email: str, organization: str, role: Role) -> User:
    """Set a user's organization-wide role (operator recovery: may name an owner when none is left;
    still refuses to demote the last owner)."""
    org = await accounts.find_organization(storage.postgres, organization.strip())
    if org is None:
        raise NotFound(f"no organization named {organization!r}")
    user = await accounts.find_user(storage.postgres, email)
    if user is None:
        raise NotFound(f"no user with email {email!r}")
    await accounts.set_membership(storage.postgres, user.id, org.id, role)
    return user


async def create_user(
    storage: Storage, email: str, password: str, organization: Organization | None, role: Role
) -> User:
    """Create a user with a hashed password, optionally as a member of an organization."""
    email = normalize_email(email)
    user = await accounts.create_user(storage.postgres, email, hash_password(password))
    if organization is not None:
        await accounts.set_membership(storage.postgres, user.id, organization.id, role)
    return user
