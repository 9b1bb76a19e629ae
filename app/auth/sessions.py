"""Browser sessions: a random token in an HttpOnly cookie, its hash as the Redis key."""

from __future__ import annotations

import hashlib
import secrets

from app.auth import throttle
from app.auth.caller import Caller
from app.auth.passwords import verify_password
from app.errors import Forbidden, Unauthorized
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import User

COOKIE = "lh_session"


def session_seconds(storage: Storage) -> int:
    """How long a session lives."""
    return storage.settings.session_days * 86400


def _key(token: str) -> str:
    return f"session:{hashlib.sha256(token.encode()).hexdigest()}"


async def verify_login(storage: Storage, email: str, password: str, client_ip: str) -> User:
    """Check email and password, throttled per email and per client address (TooManyRequests)."""
    await throttle.check(storage, email, client_ip)
    user = await accounts.find_user(storage.postgres, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        await throttle.failed(storage, email, client_ip)
        raise Unauthorized("Wrong email or password.")
    await throttle.succeeded(storage, email)
    return user


async def open_session(storage: Storage, user: User, project_id: str | None = None) -> str:
    """Start a session on `project_id`, else on the user's first project; return its token."""
    if project_id is None:
        projects = await accounts.list_project_access(storage.postgres, user.id)
        project_id = projects[0].project.id if projects else None
    token = secrets.token_urlsafe(32)
    data: dict[str, object] = {"user_id": user.id, "project_id": project_id}
    await storage.cache.set(_key(token), data, session_seconds(storage))
    return token


async def login(storage: Storage, email: str, password: str, client_ip: str) -> tuple[str, User]:
    """Check email and password and open a session on the user's first project; return its token."""
    user = await verify_login(storage, email, password, client_ip)
    return await open_session(storage, user), user


async def logout(storage: Storage, token: str) -> None:
    """End a session (idempotent)."""
    await storage.cache.delete(_key(token))


async def session_user(storage: Storage, token: str | None) -> tuple[User, str | None] | None:
    """The session's user and current project id, or None for no or an expired session."""
    if not token or len(token) > 128:
        return None
    data = await storage.cache.get(_key(token))
    if data is None:
        return None
    user = await accounts.fetch_user(storage.postgres, str(data["user_id"]))
    if user is None:
        return None
    project_id = data.get("project_id")
    return user, None if project_id is None else str(project_id)


async def switch_project(storage: Storage, token: str, project_id: str) -> None:
    """Make `project_id` the session's current project; the user must have access to it."""
    found = await session_user(storage, token)
    if found is None:
        raise Unauthorized("Not logged in.")
    user, _ = found
    if await accounts.fetch_project_access(storage.postgres, user.id, project_id) is None:
        raise Forbidden("You have no access to this project.")
    data: dict[str, object] = {"user_id": user.id, "project_id": project_id}
    await storage.cache.set(_key(token), data, session_seconds(storage))


async def session_caller(storage: Storage, token: str | None) -> Caller | None:
    """The caller behind a session cookie (its current project and the user's role there), or None."""
    found = await session_user(storage, token)
    if found is None:
        return None
    user, project_id = found
    if project_id is None:
        return None
    access = await accounts.fetch_project_access(storage.postgres, user.id, project_id)
    if access is None:
        return None
    return Caller(
        project_id=access.project.id,
        organization_id=access.organization.id,
        role=access.role,
        user_id=user.id,
    )
