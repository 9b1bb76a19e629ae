"""GET /api/public/projects: the API key's project (Langfuse API contract §1)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State

from app.auth.caller import Caller
from app.errors import NotFound
from app.storage import Storage
from app.storage.postgres import accounts


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


PROJECT_ROUTES = [projects]
