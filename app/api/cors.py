"""CORS for the public API (/api/public/*) only, so web pages of other origins can send browser feedback
with the browser SDK. The UI and /api/graphql get no CORS headers: they stay same-origin.

Pure ASGI around the whole app (not a route middleware): a preflight is answered before routing and the
API-key guard (it carries no credentials), and every answer, 401, 404 and 429 included, carries the
headers a browser needs to let the page read it. No credentials are ever allowed cross-site (no cookies):
the public API authenticates with keys."""

from __future__ import annotations

import json

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

PREFIX = "/api/public/"
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# What the Langfuse JS SDK sends (LangfuseWeb's score calls included).
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "x-langfuse-sdk-name",
    "x-langfuse-sdk-version",
    "x-langfuse-sdk-variant",
    "x-langfuse-sdk-integration",
    "x-langfuse-public-key",
)
EXPOSED_HEADERS = ("retry-after",)
MAX_AGE_SECONDS = 600


def parse_origins(value: str) -> frozenset[str] | None:
    """The allowed origins of LANGHOUSE_CORS_ALLOWED_ORIGINS: None for any ("*"), else the comma list
    (compared as browsers send them: scheme://host[:port], lower case, no trailing slash)."""
    origins = {o.strip().rstrip("/").lower() for o in value.split(",") if o.strip()}
    return None if "*" in origins else frozenset(origins)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class PublicApiCors:
    """Answer CORS preflights of /api/public/* and add CORS headers to its answers."""

    def __init__(self, app: ASGIApp, origins: str = "*") -> None:
        self.app = app
        self.origins = parse_origins(origins)

    def _allow_origin(self, origin: str | None) -> bytes | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, or None (not allowed)."""
        if self.origins is None:
            return b"*"
        if origin is not None and origin.lower() in self.origins:
            return origin.encode("latin-1")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if (
            scope["method"] == "OPTIONS"
            and origin is not None
            and _header(scope, b"access-control-request-method") is not None
        ):
            await self._preflight(origin, send)
            return
        await self.app(scope, receive, self._with_headers(send, origin))

    async def _preflight(self, origin: str, send: Send) -> None:
        allow = self._allow_origin(origin)
        if allow is None:
            body = json.dumps(
                {
                    "message": f"origin {origin} may not call this API from a browser "
                    "(LANGHOUSE_CORS_ALLOWED_ORIGINS)",
                    "error": "forbidden",
                }
            ).encode()
            headers = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
            await _answer(send, 403, headers, body)
            return
        headers = [
            (b"access-control-allow-origin", allow),
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
            (b"vary", b"Origin"),
        ]
        await _answer(send, 204, headers)

    def _with_headers(self, send: Send, origin: str | None) -> Send:
        allow = self._allow_origin(origin)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers") or ()
                    if k.lower() not in (b"access-control-allow-origin", b"access-control-expose-headers")
                ]
                if allow is not None:
                    headers.append((b"access-control-allow-origin", allow))
                    headers.append((b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()))
                if self.origins is not None:  # the answer depends on the origin: caches must key on it
                    vary = [v for k, v in headers if k.lower() == b"vary"]
                    headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
                    headers.append((b"vary", b", ".join([*vary, b"Origin"])))
                message["headers"] = headers
            await send(message)

        return send_with_headers
