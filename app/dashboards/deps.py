"""What UI handlers are given: the stores, the logged-in session (resolved once per request), role
guards, posted forms, and the page renderer that adds the layout's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body
from litestar.response import Template

from app import __version__
from app.auth import sessions
from app.auth.caller import Caller
from app.errors import Forbidden, Unauthorized
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role, User

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
_SESSION = "ui_session"  # the request-scoped state key the resolved session is kept under


@dataclass(frozen=True, slots=True)
class UiSession:
    """The logged-in user, the projects they can see, and the caller they act as in the current one."""

    user: User
    projects: list[accounts.ProjectAccess]
    current: accounts.ProjectAccess
    caller: Caller


# Providers name their connection `request`: that is the name Litestar injects it by.


def app_storage(request: ASGIConnection[Any, Any, Any, Any]) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def ui_session(request: ASGIConnection[Any, Any, Any, Any]) -> UiSession:
    """The session behind the cookie, looked up once per request: Unauthorized without one,
    Forbidden while its user has no access to its project."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    found: UiSession | None = state.get(_SESSION)
    if found is not None:
        return found
    storage = app_storage(request)
    session = await sessions.session_user(storage, request.cookies.get(sessions.COOKIE))
    if session is None:
        raise Unauthorized("Please log in.")
    user, project_id = session
    projects = await accounts.list_project_access(storage.postgres, user.id)
    current = next((p for p in projects if p.project.id == project_id), None)
    if current is None:
        raise Forbidden(
            "You are not a member of any project yet. Ask an admin of your organization to add you."
        )
    caller = Caller(current.project.id, current.organization.id, current.role, user_id=user.id)
    found = UiSession(user, projects, current, caller)
    state[_SESSION] = found
    return found


async def requires_login(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a logged-in session with a current project, whatever the role."""
    await ui_session(connection)


async def requires_member(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a session whose role in its project is member or above (viewers only read)."""
    (await ui_session(connection)).caller.require(Role.MEMBER)


async def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a session whose role in its project is admin or above."""
    (await ui_session(connection)).caller.require(Role.ADMIN)


async def _provide_caller(session: UiSession) -> Caller:
    return session.caller


DEPENDENCIES = {
    "storage": Provide(app_storage, sync_to_thread=False),
    "session": Provide(ui_session),
    "caller": Provide(_provide_caller),
}
"""Handlers name what they need: `storage`, `session` (a page that renders the layout) or `caller`."""


async def form_lists(request: Request[Any, Any, State]) -> dict[str, list[str]]:
    """A posted form with every value of each key (message rows repeat their keys)."""
    form = await request.form()
    return {key: [str(v) for v in form.getall(key)] for key in form}


def page(session: UiSession, template: str, /, **context: Any) -> Template:
    """Render a page with the layout's data: user, current project and the project switcher."""
    return Template(
        template,
        context={
            "user": session.user,
            "projects": session.projects,
            "current": session.current,
            "caller": session.caller,
            "is_admin": session.caller.role.at_least(Role.ADMIN),
            "version": __version__,
            **context,
        },
    )
