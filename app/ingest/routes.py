"""POST /api/public/otel/v1/traces: validate, store the raw body durably, enqueue, then acknowledge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.response import Response

from app.auth.caller import Caller
from app.errors import InvalidInput
from app.jobs.contracts import INGEST_BATCH, job_queue
from app.storage import Storage
from app.tracing.otlp import decompress, parse_export
from app.tracing.pipeline import RawBatch

MAX_INGESTION_VERSION = 4


def _raw_key(project_id: str, suffix: str) -> str:
    """One object per request, grouped by project and day: `ingest/<project>/<yyyy-mm-dd>/<uuid>.<suffix>`."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"ingest/{project_id}/{day}/{uuid.uuid4().hex}.{suffix}"


async def _backpressure(request: Request[Any, Any, State]) -> Response[dict[str, str]] | None:
    """503 + Retry-After when the queue is over its limit: exporters retry, nothing is lost."""
    storage: Storage = request.app.state.storage
    queue = await job_queue(request.app.state)
    backlog = await queue.backlog()
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


async def store_and_enqueue(request: Request[Any, Any, State], batch: RawBatch, body: bytes) -> None:
    """Durable before acknowledged: the raw body is in the blob store before the job exists."""
    storage: Storage = request.app.state.storage
    await storage.blobs.put(batch.key, body)
    queue = await job_queue(request.app.state)
    await queue.enqueue(INGEST_BATCH, batch.to_payload(), job_id=batch.key)


@post("/otel/v1/traces", status_code=200)
async def otlp_traces(request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
    """OTLP/HTTP trace export (protobuf or JSON, gzip or not): 200 `{}` once the batch is durable."""
    caller: Caller = request.state.caller
    version = request.headers.get("x-langfuse-ingestion-version")
    if version is not None and (not version.isdigit() or int(version) > MAX_INGESTION_VERSION):
        raise InvalidInput(f"x-langfuse-ingestion-version must be a number ≤ {MAX_INGESTION_VERSION}")
    content_type = request.headers.get("content-type", "")
    encoding = request.headers.get("content-encoding")
    body = await request.body()
    spans = parse_export(decompress(body, encoding), content_type)  # 400 before anything is stored
    if not spans:
        return Response({})
    if (busy := await _backpressure(request)) is not None:
        return busy
    batch = RawBatch(
        project_id=caller.project_id,
        key=_raw_key(caller.project_id, "otlp"),
        content_type=content_type,
        encoding=encoding,
        sdk_version=request.headers.get("x-langfuse-sdk-version"),
    )
    await store_and_enqueue(request, batch, body)
    return Response({})


INGEST_ROUTES = [otlp_traces]
