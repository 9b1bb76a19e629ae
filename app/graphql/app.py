"""The Litestar controller serving the schema (and GraphiQL) at /api/graphql."""

from __future__ import annotations

from litestar import Controller
from strawberry.litestar import make_graphql_controller

from app.graphql.context import context_getter
from app.graphql.schema import build_schema


def graphql_controller() -> type[Controller]:
    return make_graphql_controller(
        build_schema(),
        path="/api/graphql",
        context_getter=context_getter,
        graphql_ide="graphiql",
        allow_queries_via_get=True,
    )
