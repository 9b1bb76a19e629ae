"""GET /api/public/health and GET /api/public/projects (Langfuse API contract §1)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Response

from app import __version__
from app.api.openapi import public_document
from app.auth.caller import Caller
from app.errors import NotFound
from app.http_json import ApiDoc
from app.storage import Storage
from app.storage.postgres import accounts

HEALTH_BODY = {
    "type": "object",
    "required": ["status", "version"],
    "properties": {
        "status": {"type": "string"},
        "version": {"type": "string"},
        "checks": {"type": "object", "additionalProperties": {"type": "boolean"}, "description": "per store"},
    },
}
HEALTH = ApiDoc(answers={200: HEALTH_BODY, 503: HEALTH_BODY})


@get("/health", opt={"public": True, **HEALTH.opt})
async def health(
    state: State,
    fail_if_database_unavailable: Annotated[bool, Parameter(query="failIfDatabaseUnavailable")] = False,
) -> Response[dict[str, Any]]:
    """Report liveness and which stores answer: 200 `{"status": "OK"}` when all do, 200 `"DEGRADED"`
    naming the ones down otherwise; with failIfDatabaseUnavailable=true (which also pings ClickHouse),
    503 naming them. Postgres and Redis are pinged on every call (cheap), each for at most 2 s."""
    storage: Storage = state.storage
    checks = await storage.health(clickhouse=fail_if_database_unavailable)
    down = [name for name, ok in checks.items() if not ok]
    if not down:
        return Response({"status": "OK", "version": __version__})
    stores = {name: "up" if ok else "down" for name, ok in checks.items()}
    if not fail_if_database_unavailable:
        return Response({"status": "DEGRADED", "version": __version__, "stores": stores})
    return Response(
        {
            "status": "Database not available",
            "version": __version__,
            "message": f"unavailable: {', '.join(down)}",
            "error": "store_unavailable",
            "stores": stores,
        },
        status_code=503,
        headers={"Retry-After": "2"},
    )


@get("/projects")
async def projects(request: Request[Any, Any, State]) -> dict[str, Any]:
    """The project the API key belongs to, in the Langfuse shape."""
    caller: Caller = request.state.caller
    storage: Storage = request.app.state.storage
    found = await accounts.fetch_project(storage.postgres, caller.project_id)
    if found is None:
        raise NotFound("project not found")
    project, org = found
    return {
        "data": [
            {
                "id": project.id,
                "name": project.name,
                "organization": {"id": org.id, "name": org.name},
                "metadata": {},
                "retentionDays": project.retention_days,
            }
        ]
    }


@get("/openapi.json", opt={"public": True}, include_in_schema=False)
async def openapi_document(request: Request[Any, Any, State]) -> dict[str, Any]:
    """The OpenAPI document of the public API."""
    return public_document(request.app)


PUBLIC_ROUTES = [health, projects, openapi_document]
