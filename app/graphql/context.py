"""The per-request GraphQL context: the caller (from Basic auth or the session cookie) and the stores."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from strawberry.litestar import BaseContext

from app.auth.caller import Caller
from app.auth.keys import authenticate_basic
from app.auth.sessions import COOKIE, session_caller
from app.errors import Unauthorized
from app.graphql.loaders import Loaders, make_loaders
from app.jobs.contracts import JobQueue
from app.storage import Storage


class Context(BaseContext, kw_only=True):
    """What every resolver gets: the project comes from here (the credentials), never from arguments."""

    storage: Storage
    caller: Caller | None
    loaders: Loaders
    jobs: JobQueue | None = None  # to enqueue work (a judge retry)

    def require(self) -> Caller:
        """The caller, or Unauthorized (a GraphiQL page load carries none)."""
        if self.caller is None:
            raise Unauthorized("Not authenticated.")
        return self.caller


async def context_getter(request: Request[Any, Any, State]) -> Context:
    """Authenticate the request: Basic API key, else a browser session; GraphiQL's page itself is open."""
    storage: Storage = request.app.state.storage
    header = request.headers.get("authorization")
    if header:
        client_ip = request.client.host if request.client else "unknown"
        caller: Caller | None = await authenticate_basic(storage, header, client_ip)
    else:
        caller = await session_caller(storage, request.cookies.get(COOKIE))
        wants_ide = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if caller is None and not wants_ide:
            raise Unauthorized(
                "No authorization header. Use HTTP Basic auth with your project's public key as username "
                "and secret key as password, or log in to the web UI."
            )
        if caller is not None and request.method == "POST" and not _is_json(request):
            # Cookie-authenticated calls must be JSON: a cross-site form cannot send that without CORS.
            raise Unauthorized(
                "Session-authenticated GraphQL requests must use Content-Type application/json."
            )
    return Context(
        storage=storage,
        caller=caller,
        loaders=make_loaders(storage, caller.project_id if caller else None),
        jobs=getattr(request.app.state, "jobs", None),
    )


def _is_json(request: Request[Any, Any, State]) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
