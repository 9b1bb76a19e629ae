"""Basic-auth guard for /api/public: every route is authenticated unless it sets opt={"public": True}."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.auth.keys import authenticate_basic
from app.storage import Storage


async def require_api_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """Put the API-key caller on connection.state.caller, or raise Unauthorized (401)."""
    if handler.opt.get("public"):
        return
    storage: Storage = connection.app.state.storage
    client_ip = connection.client.host if connection.client else "unknown"
    connection.state.caller = await authenticate_basic(
        storage, connection.headers.get("authorization"), client_ip
    )
