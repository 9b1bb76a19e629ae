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
    """Report liveness; with failIfDatabaseUnavailable=true, 503 unless every store answers."""
    body: dict[str, Any] = {"status": "OK", "version": __version__}
    if fail_if_database_unavailable:
        storage: Storage = state.storage
        checks = await storage.health()
        if not all(checks.values()):
            return Response(
                {"status": "Database not available", "version": __version__, "checks": checks},
                status_code=503,
            )
    return Response(body)


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
