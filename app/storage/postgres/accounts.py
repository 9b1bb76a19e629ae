"""Repositories for organizations, projects, users, memberships and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict, InvalidInput
from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import ApiKey, Membership, Organization, Project, Role, User, utcnow


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    """A project, its organization and a user's effective role in it."""

    project: Project
    organization: Organization
    role: Role


RowT = TypeVar("RowT", Organization, Project, User, ApiKey)


async def _insert(pg: Postgres, row: RowT, conflict: str) -> RowT:
    """Insert one row; a unique-constraint violation becomes Conflict(conflict)."""
    async with pg.session() as s:
        s.add(row)
        try:
            await s.commit()
        except IntegrityError as exc:
            raise Conflict(conflict) from exc
    return row


async def find_organization(pg: Postgres, name: str) -> Organization | None:
    async with pg.session() as s:
        return (await s.exec(select(Organization).where(Organization.name == name))).first()


async def create_organization(pg: Postgres, name: str) -> Organization:
    return await _insert(pg, Organization(name=name), f"organization {name!r} already exists")


async def fetch_organization(pg: Postgres, organization_id: str) -> Organization | None:
    async with pg.session() as s:
        return await s.get(Organization, organization_id)


async def fetch_project(pg: Postgres, project_id: str) -> tuple[Project, Organization] | None:
    async with pg.session() as s:
        stmt = (
            select(Project, Organization)
            .join(Organization, col(Organization.id) == col(Project.organization_id))
            .where(Project.id == project_id)
        )
        row = (await s.exec(stmt)).first()
    return None if row is None else (row[0], row[1])


async def find_project(pg: Postgres, organization_id: str, name: str) -> Project | None:
    async with pg.session() as s:
        stmt = select(Project).where(Project.organization_id == organization_id, Project.name == name)
        return (await s.exec(stmt)).first()


async def create_project(pg: Postgres, organization_id: str, name: str) -> Project:
    project = Project(organization_id=organization_id, name=name)
    return await _insert(pg, project, f"project {name!r} already exists in this organization")


async def count_users(pg: Postgres) -> int:
    async with pg.session() as s:
        return int((await s.exec(select(func.count()).select_from(User))).one())


async def count_organizations(pg: Postgres) -> int:
    async with pg.session() as s:
        return int((await s.exec(select(func.count()).select_from(Organization))).one())


async def find_user(pg: Postgres, email: str) -> User | None:
    async with pg.session() as s:
        return (await s.exec(select(User).where(User.email == email.strip().lower()))).first()


async def fetch_user(pg: Postgres, user_id: str) -> User | None:
    async with pg.session() as s:
        return await s.get(User, user_id)


async def create_user(pg: Postgres, email: str, password_hash: str, name: str | None = None) -> User:
    user = User(email=email.strip().lower(), password_hash=password_hash, name=name)
    return await _insert(pg, user, f"user {user.email!r} already exists")


async def set_membership(
    pg: Postgres, user_id: str, organization_id: str, role: Role, project_id: str | None = None
) -> Membership:
    """Give a user a role in an organization, or in one project of it; replaces an earlier role."""
    async with pg.session() as s:
        membership = await put_membership(s, user_id, organization_id, role, project_id)
        await s.commit()
    return membership


async def put_membership(
    s: AsyncSession, user_id: str, organization_id: str, role: Role, project_id: str | None
) -> Membership:
    """Set a role within an open transaction (the caller commits)."""
    stmt = select(Membership).where(
        Membership.user_id == user_id,
        Membership.organization_id == organization_id,
        Membership.project_id == project_id if project_id else col(Membership.project_id).is_(None),
    )
    membership = (await s.exec(stmt)).first()
    if role != Role.OWNER:
        await _keep_an_owner(s, user_id, organization_id)
    if membership is None:
        membership = Membership(
            user_id=user_id, organization_id=organization_id, project_id=project_id, role=role.value
        )
    membership.role = role.value
    s.add(membership)
    return membership


LAST_OWNER = (
    "this is the organization's last owner: make someone else owner first "
    "(an organization always keeps an owner)"
)


async def _keep_an_owner(s: AsyncSession, user_id: str, organization_id: str) -> None:
    """Refuse to give the organization's last owner a lower role, in any scope. The owners' rows stay
    locked until the caller's transaction ends, so two owners cannot demote each other at once."""
    stmt = (
        select(Membership.user_id)
        .where(
            Membership.organization_id == organization_id,
            col(Membership.project_id).is_(None),
            Membership.role == Role.OWNER.value,
        )
        .with_for_update()
    )
    owners = set((await s.exec(stmt)).all())
    if owners == {user_id}:
        raise InvalidInput(LAST_OWNER)


async def fetch_member_roles(
    pg: Postgres, user_id: str, organization_id: str, project_id: str
) -> tuple[Role | None, Role | None]:
    """The user's organization role and their role override in one project (None where unset)."""
    async with pg.session() as s:
        stmt = select(Membership).where(
            Membership.user_id == user_id,
            Membership.organization_id == organization_id,
            or_(col(Membership.project_id).is_(None), col(Membership.project_id) == project_id),
        )
        rows = (await s.exec(stmt)).all()
    org = next((Role(m.role) for m in rows if m.project_id is None), None)
    project = next((Role(m.role) for m in rows if m.project_id is not None), None)
    return org, project


async def fetch_organization_role(pg: Postgres, user_id: str, organization_id: str) -> Role | None:
    """The user's organization-wide role (not a project override), or None."""
    async with pg.session() as s:
        stmt = select(Membership).where(
            Membership.user_id == user_id,
            Membership.organization_id == organization_id,
            col(Membership.project_id).is_(None),
        )
        membership = (await s.exec(stmt)).first()
    return None if membership is None else Role(membership.role)


async def list_project_access(pg: Postgres, user_id: str) -> list[ProjectAccess]:
    """Every project the user can see with their effective role (a project role overrides the org role)."""
    async with pg.session() as s:
        memberships = (await s.exec(select(Membership).where(Membership.user_id == user_id))).all()
        org_ids = {m.organization_id for m in memberships}
        if not org_ids:
            return []
        stmt = (
            select(Project, Organization)
            .join(Organization, col(Organization.id) == col(Project.organization_id))
            .where(col(Project.organization_id).in_(org_ids))
            .order_by(col(Organization.name), col(Project.name))
        )
        rows = (await s.exec(stmt)).all()
    org_role = {m.organization_id: Role(m.role) for m in memberships if m.project_id is None}
    project_role = {m.project_id: Role(m.role) for m in memberships if m.project_id is not None}
    access = []
    for project, org in rows:
        role = project_role.get(project.id) or org_role.get(org.id)
        if role is not None:
            access.append(ProjectAccess(project, org, role))
    return access


async def fetch_project_access(pg: Postgres, user_id: str, project_id: str) -> ProjectAccess | None:
    """The user's access to one project, or None when they have none."""
    for access in await list_project_access(pg, user_id):
        if access.project.id == project_id:
            return access
    return None


async def create_api_key(
    pg: Postgres, project_id: str, public_key: str, secret_hash: str, display_secret: str, note: str | None
) -> ApiKey:
    key = ApiKey(
        project_id=project_id,
        public_key=public_key,
        secret_hash=secret_hash,
        display_secret=display_secret,
        note=note,
    )
    return await _insert(pg, key, "an API key with this public key already exists")


async def find_api_key(pg: Postgres, public_key: str) -> ApiKey | None:
    """Look a key up by its public part (any project: this is how a request finds its project)."""
    async with pg.session() as s:
        return (await s.exec(select(ApiKey).where(ApiKey.public_key == public_key))).first()


async def list_api_keys(pg: Postgres, project_id: str) -> list[ApiKey]:
    async with pg.session() as s:
        stmt = select(ApiKey).where(ApiKey.project_id == project_id).order_by(col(ApiKey.created_at).desc())
        return list((await s.exec(stmt)).all())


async def revoke_api_key(pg: Postgres, project_id: str, public_key: str) -> ApiKey | None:
    """Revoke a key of this project; None when the project has no such key."""
    async with pg.session() as s:
        stmt = select(ApiKey).where(ApiKey.project_id == project_id, ApiKey.public_key == public_key)
        key = (await s.exec(stmt)).first()
        if key is None:
            return None
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            s.add(key)
            await s.commit()
    return key


async def replace_api_key_secret(pg: Postgres, key_id: str, secret_hash: str, display_secret: str) -> None:
    """Set a new secret hash on a key (headless init with a changed secret)."""
    async with pg.session() as s:
        key = await s.get(ApiKey, key_id)
        if key is not None:
            key.secret_hash = secret_hash
            key.display_secret = display_secret
            key.revoked_at = None
            s.add(key)
            await s.commit()


async def find_projects_by_name(pg: Postgres, name: str) -> list[Project]:
    async with pg.session() as s:
        return list((await s.exec(select(Project).where(Project.name == name).limit(10))).all())


async def list_projects(pg: Postgres, limit: int) -> list[Project]:
    """Up to `limit` projects of the whole installation, oldest first (the CLI's default project)."""
    async with pg.session() as s:
        return list((await s.exec(select(Project).order_by(col(Project.created_at)).limit(limit))).all())


@dataclass(frozen=True, slots=True)
class Member:
    """A user of an organization: their organization role and their role in one project, if set."""

    user: User
    organization_role: Role | None
    project_role: Role | None

    @property
    def role(self) -> Role | None:
        return self.project_role or self.organization_role


async def list_members(pg: Postgres, organization_id: str, project_id: str) -> list[Member]:
    """Everyone with a role in the organization or in this project of it, by email."""
    async with pg.session() as s:
        stmt = (
            select(Membership, User)
            .join(User, col(User.id) == col(Membership.user_id))
            .where(
                Membership.organization_id == organization_id,
                or_(col(Membership.project_id).is_(None), col(Membership.project_id) == project_id),
            )
        )
        rows = (await s.exec(stmt)).all()
    users: dict[str, User] = {}
    org_roles: dict[str, Role] = {}
    project_roles: dict[str, Role] = {}
    for membership, user in rows:
        users[user.id] = user
        target = project_roles if membership.project_id else org_roles
        target[user.id] = Role(membership.role)
    return sorted(
        (Member(u, org_roles.get(i), project_roles.get(i)) for i, u in users.items()),
        key=lambda m: m.user.email,
    )


async def remove_project_role(pg: Postgres, user_id: str, organization_id: str, project_id: str) -> None:
    """Drop a user's role override in one project (their organization role applies again)."""
    async with pg.session() as s:
        stmt = select(Membership).where(
            Membership.user_id == user_id,
            Membership.organization_id == organization_id,
            Membership.project_id == project_id,
        )
        for membership in (await s.exec(stmt)).all():
            await s.delete(membership)
        await s.commit()
