"""Basic-auth guard for /api/public: every route is authenticated unless it sets opt={"public": True};
routes with opt={"public_key": True} (the batch API) also take a public key alone, for browser feedback."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.auth.keys import authenticate_basic, authenticate_public_key, is_bearer
from app.errors import Unauthorized
from app.storage import Storage

PUBLIC_KEY_ONLY_SCORES = (
    "Unsupported authorization scheme for this route: a public key alone (Bearer) may only send scores "
    "to POST /api/public/ingestion. Use HTTP Basic auth with your public key as username and your "
    "secret key as password."
)


async def require_api_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """Put the API-key caller on connection.state.caller, or raise Unauthorized (401)."""
    if handler.opt.get("public"):
        return
    storage: Storage = connection.app.state.storage
    client_ip = connection.client.host if connection.client else "unknown"
    header = connection.headers.get("authorization")
    if is_bearer(header):
        if not handler.opt.get("public_key"):
            # Refused before any lookup: a read never learns whether the key exists.
            raise Unauthorized(PUBLIC_KEY_ONLY_SCORES)
        connection.state.caller = await authenticate_public_key(storage, header, client_ip)
        return
    connection.state.caller = await authenticate_basic(storage, header, client_ip)
