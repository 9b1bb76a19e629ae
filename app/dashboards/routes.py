"""UI routes: thin handlers that read the session, call one domain function and render a template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app import __version__
from app.auth import accounts as domain
from app.auth import keys, sessions
from app.auth.caller import Caller
from app.errors import Forbidden, TooManyRequests, Unauthorized, UserError
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.models import Role

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


@dataclass
class LoginForm:
    email: str
    password: str
    next: str = "/"


@dataclass
class KeyForm:
    note: str = ""


@dataclass
class RevokeForm:
    public_key: str


@dataclass
class SwitchForm:
    project_id: str


def _storage(request: Request[Any, Any, State]) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _caller(request: Request[Any, Any, State], role: Role | None = None) -> Caller:
    """The logged-in caller; with `role`, Forbidden unless they hold at least that role."""
    storage, token = _storage(request), request.cookies.get(sessions.COOKIE)
    caller = await sessions.session_caller(storage, token)
    if caller is not None:
        if role is not None:
            caller.require(role)
        return caller
    if await sessions.session_user(storage, token) is None:
        raise Unauthorized("Please log in.")
    raise Forbidden("You are not a member of any project yet. Ask an admin of your organization to add you.")


async def _form(request: Request[Any, Any, State]) -> dict[str, list[str]]:
    """A posted form with every value of each key (message rows repeat their keys)."""
    form = await request.form()
    return {key: [str(v) for v in form.getall(key)] for key in form}


async def _page(request: Request[Any, Any, State], caller: Caller, template: str, **context: Any) -> Template:
    """Render a page with the layout's data: user, current project and the project switcher."""
    storage = _storage(request)
    assert caller.user_id is not None
    user = await accounts.fetch_user(storage.postgres, caller.user_id)
    projects = await accounts.list_project_access(storage.postgres, caller.user_id)
    current = next((p for p in projects if p.project.id == caller.project_id), None)
    if current is None:
        raise Forbidden("You have no access to this project any more.")
    return Template(
        template,
        context={
            "user": user,
            "projects": projects,
            "current": current,
            "caller": caller,
            "is_admin": caller.role.at_least(Role.ADMIN),
            "version": __version__,
            **context,
        },
    )


def _safe_next(target: str) -> str:
    """Only same-site paths: no scheme, host, backslash or control characters."""
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc
    return target if local and "\\" not in target and all(ord(c) >= 0x20 for c in target) else "/"


@get("/login")
async def login_page(next: str = "/") -> Template:
    return Template("login.html", context={"next": _safe_next(next), "error": None, "version": __version__})


def client_ip(request: Request[Any, Any, State]) -> str:
    return request.client.host if request.client else "unknown"


def start_session(request: Request[Any, Any, State], response: Response[Any], token: str) -> None:
    """Put a session token in its HttpOnly, same-site cookie."""
    response.set_cookie(
        Cookie(
            key=sessions.COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            max_age=sessions.session_seconds(_storage(request)),
            path="/",
        )
    )


def form_error(template: str, exc: UserError, **context: Any) -> Template:
    """Show a form again with the error's message and status (429 adds Retry-After)."""
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, TooManyRequests) else {}
    context = {"version": __version__, **context, "error": str(exc)}
    return Template(template, context=context, status_code=exc.status, headers=headers)


@post("/login")
async def login_submit(
    request: Request[Any, Any, State], data: Annotated[LoginForm, FORM]
) -> Template | Redirect:
    try:
        token, _ = await sessions.login(_storage(request), data.email, data.password, client_ip(request))
    except UserError as exc:
        return form_error("login.html", exc, next=_safe_next(data.next), email=data.email)
    response = Redirect(_safe_next(data.next))
    start_session(request, response, token)
    return response


@post("/logout")
async def logout(request: Request[Any, Any, State]) -> Redirect:
    token = request.cookies.get(sessions.COOKIE)
    if token:
        await sessions.logout(_storage(request), token)
    response = Redirect("/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@post("/projects/switch")
async def switch_project(request: Request[Any, Any, State], data: Annotated[SwitchForm, FORM]) -> Redirect:
    token = request.cookies.get(sessions.COOKIE)
    if token is None:
        raise Unauthorized("Please log in.")
    await sessions.switch_project(_storage(request), token, data.project_id)
    return Redirect("/")


@get("/settings/api-keys")
async def api_keys_page(request: Request[Any, Any, State]) -> Template:
    caller = await _caller(request, Role.ADMIN)
    rows = await accounts.list_api_keys(_storage(request).postgres, caller.project_id)
    return await _page(request, caller, "api_keys.html", keys=rows, issued=None)


@post("/settings/api-keys")
async def api_key_create(request: Request[Any, Any, State], data: Annotated[KeyForm, FORM]) -> Template:
    caller = await _caller(request, Role.ADMIN)
    issued = await keys.issue_api_key(_storage(request), caller.project_id, data.note.strip() or None)
    rows = await accounts.list_api_keys(_storage(request).postgres, caller.project_id)
    page = await _page(request, caller, "api_keys.html", keys=rows, issued=issued)
    page.headers["Cache-Control"] = "no-store"  # the secret is shown once: never from a cache or history
    return page


@post("/settings/api-keys/revoke")
async def api_key_revoke(request: Request[Any, Any, State], data: Annotated[RevokeForm, FORM]) -> Redirect:
    caller = await _caller(request, Role.ADMIN)
    await keys.revoke_api_key(_storage(request), caller.project_id, data.public_key)
    return Redirect("/settings/api-keys")


@dataclass
class MemberForm:
    email: str
    role: str
    scope: str = "project"  # "project": a role in this project only; "organization": in all its projects


async def _members(
    request: Request[Any, Any, State], caller: Caller, error: UserError | None = None
) -> Template:
    """The members page; after a refused change, with its reason and status."""
    storage = _storage(request)
    members = await accounts.list_members(storage.postgres, caller.organization_id, caller.project_id)
    roles = [r.value for r in Role if caller.role.at_least(r)]
    page = await _page(
        request, caller, "members.html", members=members, roles=roles, error=str(error) if error else None
    )
    page.status_code = error.status if error else 200
    return page


@get("/settings/members")
async def members_page(request: Request[Any, Any, State]) -> Template:
    return await _members(request, await _caller(request, Role.ADMIN))


@post("/settings/members")
async def member_set(
    request: Request[Any, Any, State], data: Annotated[MemberForm, FORM]
) -> Template | Redirect:
    """Give an existing user a role here (new users come through invitations); a refused change
    shows the page again with the reason."""
    caller = await _caller(request, Role.ADMIN)
    try:
        await domain.set_member_role(_storage(request), caller, data.email, data.role, data.scope)
    except UserError as exc:
        return await _members(request, caller, exc)
    return Redirect("/settings/members")


@post("/settings/members/{user_id:str}/remove-project-role")
async def member_reset(request: Request[Any, Any, State], user_id: str) -> Template | Redirect:
    caller = await _caller(request, Role.ADMIN)
    try:
        await domain.reset_project_role(_storage(request), caller, user_id)
    except UserError as exc:
        return await _members(request, caller, exc)
    return Redirect("/settings/members")


UI_ROUTES = [
    login_page,
    login_submit,
    logout,
    switch_project,
    api_keys_page,
    api_key_create,
    api_key_revoke,
    members_page,
    member_set,
    member_reset,
]
