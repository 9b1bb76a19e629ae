"""Repository for invitations (every call is scoped to one organization, or found by token hash)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.errors import Conflict
from app.storage.postgres.accounts import put_membership
from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import Invitation, Role, User, utcnow


def _visible(organization_id: str, project_id: str) -> ColumnElement[bool]:
    """Invitations to the organization as a whole, or to this project of it."""
    return and_(
        col(Invitation.organization_id) == organization_id,
        or_(col(Invitation.project_id).is_(None), col(Invitation.project_id) == project_id),
    )


async def create_invitation(pg: Postgres, invitation: Invitation) -> Invitation:
    async with pg.session() as s:
        s.add(invitation)
        await s.commit()
    return invitation


async def find_invitation(pg: Postgres, token_hash: str) -> Invitation | None:
    """The invitation a link's token belongs to (its hash is unique across all organizations)."""
    async with pg.session() as s:
        return (await s.exec(select(Invitation).where(Invitation.token_hash == token_hash))).first()


async def list_pending_invitations(pg: Postgres, organization_id: str, project_id: str) -> list[Invitation]:
    """Invitations not accepted, revoked or expired, newest first."""
    async with pg.session() as s:
        stmt = (
            select(Invitation)
            .where(
                _visible(organization_id, project_id),
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > utcnow(),
            )
            .order_by(col(Invitation.created_at).desc())
            .limit(500)
        )
        return list((await s.exec(stmt)).all())


async def revoke_invitation(pg: Postgres, organization_id: str, project_id: str, invitation_id: str) -> bool:
    """Revoke a pending invitation of this organization or project; False when there is none."""
    async with pg.session() as s:
        stmt = select(Invitation).where(
            _visible(organization_id, project_id),
            Invitation.id == invitation_id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
        found = (await s.exec(stmt)).first()
        if found is None:
            return False
        found.revoked_at = utcnow()
        s.add(found)
        await s.commit()
    return True


async def accept_invitation(pg: Postgres, invitation_id: str, user: User, *, new_user: bool) -> bool:
    """In one transaction: mark a still-pending invitation accepted, create `user` when `new_user`,
    and give them the invitation's role. False when the invitation stopped being pending (a
    concurrent acceptance waits on the row lock and then finds it accepted)."""
    now = utcnow()
    async with pg.session() as s:
        stmt = (
            select(Invitation)
            .where(
                Invitation.id == invitation_id,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
                col(Invitation.expires_at) > now,
            )
            .with_for_update()
        )
        invitation = (await s.exec(stmt)).first()
        if invitation is None:
            return False
        if new_user:
            s.add(user)
            try:
                await s.flush()
            except IntegrityError as exc:
                raise Conflict(f"user {user.email!r} already exists; log in to accept instead") from exc
        invitation.accepted_at, invitation.accepted_user_id = now, user.id
        s.add(invitation)
        await put_membership(
            s, user.id, invitation.organization_id, Role(invitation.role), invitation.project_id
        )
        await s.commit()
    return True
