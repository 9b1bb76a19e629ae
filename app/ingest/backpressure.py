"""Backpressure for intake routes: refuse new batches while the job queue is over its limit."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.response import Response

from app.jobs.contracts import JobQueue
from app.storage import Storage


async def backpressure(request: Request[Any, Any, State], jobs: JobQueue) -> Response[dict[str, str]] | None:
    """503 + Retry-After when the queue is over its limit: exporters retry, nothing is lost."""
    storage: Storage = request.app.state.storage
    backlog = await jobs.backlog()
    if backlog > storage.settings.ingest_max_backlog:
        return Response(
            {
                "message": f"ingestion backlog is full ({backlog} batches waiting); retry later",
                "error": "overloaded",
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return None
