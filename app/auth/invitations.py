"""Invitations: an admin invites an email to a role; the one-time link lets the invitee join.

The link's token carries 256 random bits and is stored only as its SHA-256 (like API key secrets),
so a database copy cannot be turned into working links.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from app.auth import sessions
from app.auth.accounts import check_name, grant, normalize_email
from app.auth.caller import Caller
from app.auth.keys import hash_secret
from app.auth.passwords import hash_password
from app.errors import Gone, NotFound
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres import invitations as repo
from app.storage.postgres.tables import Invitation, Role, User, utcnow

MAX_TOKEN = 128


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A new invitation; `token` exists only here and is never stored."""

    invitation: Invitation
    token: str


async def invite(storage: Storage, caller: Caller, email: str, role: str, scope: str) -> IssuedInvitation:
    """Invite an email to a role in the caller's project or organization (admins; never above their role)."""
    caller.require(Role.ADMIN)
    granted, project_id = await grant(storage, caller, role, scope)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization_id=caller.organization_id,
        project_id=project_id,
        email=normalize_email(email),
        role=granted.value,
        token_hash=hash_secret(token),
        invited_by_user_id=caller.user_id,
        expires_at=utcnow() + timedelta(days=storage.settings.invitation_days),
    )
    return IssuedInvitation(await repo.create_invitation(storage.postgres, invitation), token)


async def pending(storage: Storage, caller: Caller) -> list[Invitation]:
    caller.require(Role.ADMIN)
    return await repo.list_pending_invitations(storage.postgres, caller.organization_id, caller.project_id)


async def revoke(storage: Storage, caller: Caller, invitation_id: str) -> None:
    caller.require(Role.ADMIN)
    if not await repo.revoke_invitation(
        storage.postgres, caller.organization_id, caller.project_id, invitation_id
    ):
        raise NotFound("no pending invitation with this id here")


async def open_invitation(storage: Storage, token: str) -> Invitation:
    """The pending invitation of a link; NotFound for an unknown token, Gone for a used, revoked or
    expired one (each with a message saying which)."""
    found = (
        None if len(token) > MAX_TOKEN else await repo.find_invitation(storage.postgres, hash_secret(token))
    )
    if found is None:
        raise NotFound("This invitation link is not valid. Check that you copied all of it.")
    if found.accepted_at is not None:
        raise Gone("This invitation has already been used. Log in, or ask an admin for a new one.")
    if found.revoked_at is not None:
        raise Gone("This invitation was revoked. Ask an admin for a new one.")
    if found.expires_at <= utcnow():
        raise Gone("This invitation has expired. Ask an admin for a new one.")
    return found


async def accept(
    storage: Storage, token: str, password: str, client_ip: str, name: str | None = None
) -> tuple[User, Invitation]:
    """Accept an invitation: a new account with `name` and `password`, or, when the email already
    has one, its password (throttled like a login). The user gets the invitation's role."""
    invitation = await open_invitation(storage, token)
    user = await accounts.find_user(storage.postgres, invitation.email)
    new_user = user is None
    if user is None:
        user = User(
            email=invitation.email,
            name=check_name(name or "", "name"),
            password_hash=hash_password(password),
        )
    else:
        user = await sessions.verify_login(storage, invitation.email, password, client_ip)
    if not await repo.accept_invitation(storage.postgres, invitation.id, user, new_user=new_user):
        raise Gone("This invitation is no longer valid (used, revoked or expired just now).")
    return user, invitation
