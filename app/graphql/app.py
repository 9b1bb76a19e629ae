"""The Litestar controller serving the schema at /api/graphql, with a GraphiQL page that uses local assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from graphql import ExecutionResult
from litestar import Controller, Request, Response
from litestar.response import Redirect
from strawberry.litestar import make_graphql_controller

from app.auth.sessions import COOKIE, session_user
from app.errors import StoreUnavailable
from app.graphql.context import context_getter
from app.graphql.schema import build_schema

# Static HTML that loads GraphiQL from Langhouse's own /static/vendor assets (no CDN).
_IDE_PAGE = Path(__file__).with_name("graphiql.html")


def graphql_controller() -> type[Controller]:
    ide_html = _IDE_PAGE.read_text()
    base = make_graphql_controller(
        build_schema(),
        path="/api/graphql",
        context_getter=context_getter,
        graphql_ide="graphiql",
        allow_queries_via_get=True,
    )

    class GraphQLController(base):  # type: ignore[valid-type,misc]
        graphql_ide_html = ide_html

        async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[Any]:
            """The page for a browser that is logged in (or sends Basic auth); else the login page,
            which comes back here. Logged in without a project still gets the page (its queries say why:
            a redirect would loop)."""
            if "authorization" not in request.headers:
                storage = request.app.state.storage
                if await session_user(storage, request.cookies.get(COOKIE)) is None:
                    return Redirect("/login?" + urlencode({"next": request.url.path}))
            page: Response[Any] = await super().render_graphql_ide(request)
            return page

        async def process_result(self, request: Request[Any, Any, Any], result: ExecutionResult) -> Any:
            """Answer 503 (the app's error handler) when a store was unreachable, like the REST API."""
            for error in result.errors or ():
                if isinstance(error.original_error, StoreUnavailable):
                    raise error.original_error
            return await super().process_result(request, result)

    return GraphQLController
