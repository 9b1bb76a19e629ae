"""CORS of the public API: which paths, which origins, and the headers of preflights and answers."""

from __future__ import annotations

from typing import Any

import pytest

from app.api.cors import ALLOWED_HEADERS, PublicApiCors, parse_origins


def test_origins_setting() -> None:
    assert parse_origins("*") is None
    assert parse_origins(" https://a.example , * ") is None
    assert parse_origins("https://A.example/, http://localhost:5173") == {
        "https://a.example",
        "http://localhost:5173",
    }
    assert parse_origins("") == frozenset()


async def call(
    origins: str, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bool]:
    """Send one request through the middleware; (status, response headers, whether the app was called)."""
    reached = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True
        await send({"type": "http.response.start", "status": 401, "headers": [(b"vary", b"Accept")]})
        await send({"type": "http.response.body", "body": b"{}"})

    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await PublicApiCors(app, origins)(scope, receive, send)  # type: ignore[arg-type]
    start = messages[0]
    answer: dict[str, str] = {}
    for k, v in start["headers"]:
        answer[k.decode()] = ", ".join(filter(None, [answer.get(k.decode()), v.decode()]))
    return start["status"], answer, reached


PREFLIGHT = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}


async def test_a_preflight_never_reaches_the_app() -> None:
    status, headers, reached = await call("*", "OPTIONS", "/api/public/ingestion", PREFLIGHT)
    assert (status, reached) == (204, False)
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-headers"] == ", ".join(ALLOWED_HEADERS)
    assert headers["access-control-max-age"] == "600"
    assert headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in headers


@pytest.mark.parametrize("path", ["/api/graphql", "/", "/traces", "/api/publicity"])
async def test_other_paths_pass_through_untouched(path: str) -> None:
    status, headers, reached = await call("*", "OPTIONS", path, PREFLIGHT)
    assert (status, reached) == (401, True)
    assert headers == {"vary": "Accept"}


async def test_an_options_request_without_cors_headers_is_no_preflight() -> None:
    status, _, reached = await call("*", "OPTIONS", "/api/public/traces", {"Origin": "https://a.example"})
    assert (status, reached) == (401, True)


async def test_answers_carry_the_allowed_origin_and_expose_retry_after() -> None:
    status, headers, _ = await call("*", "GET", "/api/public/traces", {"Origin": "https://a.example"})
    assert status == 401
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-expose-headers"] == "retry-after"
    assert headers["vary"] == "Accept"


async def test_an_allowlist_echoes_allowed_origins_only() -> None:
    origins = "https://shop.example"
    _, headers, _ = await call(origins, "GET", "/api/public/traces", {"Origin": "https://shop.example"})
    assert headers["access-control-allow-origin"] == "https://shop.example"
    assert headers["vary"] == "Accept, Origin"
    _, headers, reached = await call(origins, "GET", "/api/public/traces", {"Origin": "https://evil.example"})
    assert reached and "access-control-allow-origin" not in headers and headers["vary"] == "Accept, Origin"
    evil = {**PREFLIGHT, "Origin": "https://evil.example"}
    status, headers, reached = await call(origins, "OPTIONS", "/api/public/ingestion", evil)
    assert (status, reached) == (403, False)
    assert "access-control-allow-origin" not in headers
