"""Logging in and out, and switching the session's project (session cookie, throttled logins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.response import Redirect, Template

from app import __version__
from app.auth import sessions
from app.dashboards.forms import read_form
from app.errors import TooManyRequests, Unauthorized, UserError
from app.storage import Storage


@dataclass
class LoginForm:
    email: str = ""
    password: str = ""
    next: str = "/"


@dataclass
class SwitchForm:
    project_id: str = ""


def safe_next(target: str) -> str:
    """Only same-site paths: no scheme, host, backslash or control characters."""
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc
    return target if local and "\\" not in target and all(ord(c) >= 0x20 for c in target) else "/"


def client_ip(request: Request[Any, Any, State]) -> str:
    return request.client.host if request.client else "unknown"


def start_session(
    request: Request[Any, Any, State], response: Response[Any], storage: Storage, token: str
) -> None:
    """Put a session token in its HttpOnly, same-site cookie."""
    response.set_cookie(
        Cookie(
            key=sessions.COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            max_age=sessions.session_seconds(storage),
            path="/",
        )
    )


def form_error(template: str, exc: UserError, **context: Any) -> Template:
    """Show a form again with the error's message and status (429 adds Retry-After)."""
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, TooManyRequests) else {}
    context = {"version": __version__, **context, "error": str(exc)}
    return Template(template, context=context, status_code=exc.status, headers=headers)


@get("/login")
async def login_page(next: str = "/") -> Template:
    return Template("login.html", context={"next": safe_next(next), "error": None, "version": __version__})


@post("/login")
async def login_submit(request: Request[Any, Any, State], storage: Storage) -> Template | Redirect:
    data = await read_form(request, LoginForm)
    try:
        token, _ = await sessions.login(storage, data.email, data.password, client_ip(request))
    except UserError as exc:
        return form_error("login.html", exc, next=safe_next(data.next), email=data.email)
    response = Redirect(safe_next(data.next))
    start_session(request, response, storage, token)
    return response


@post("/logout")
async def logout(request: Request[Any, Any, State], storage: Storage) -> Redirect:
    token = request.cookies.get(sessions.COOKIE)
    if token:
        await sessions.logout(storage, token)
    response = Redirect("/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@post("/projects/switch")
async def switch_project(request: Request[Any, Any, State], storage: Storage) -> Redirect:
    data = await read_form(request, SwitchForm)
    token = request.cookies.get(sessions.COOKIE)
    if token is None:
        raise Unauthorized("Please log in.")
    await sessions.switch_project(storage, token, data.project_id)
    return Redirect("/")


AUTH_ROUTES = [login_page, login_submit, logout, switch_project]
