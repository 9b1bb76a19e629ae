"""GET /api/public/health: liveness, and which stores answer (Langfuse API contract §1)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Response

from app import __version__
from app.http_json import ApiDoc
from app.storage import Storage

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


HEALTH_ROUTES = [health]
