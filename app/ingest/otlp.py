"""POST /api/public/otel/v1/traces: OTLP/HTTP trace export, stored durably and enqueued before the answer."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.response import Response

from app.auth.caller import Caller
from app.errors import InvalidInput
from app.http_json import ApiDoc
from app.ingest.backpressure import backpressure
from app.jobs.contracts import JobQueue, store_and_enqueue
from app.tracing.otlp import check_export, decompress, export_response, rejection_message
from app.tracing.pipeline import RawBatch

MAX_INGESTION_VERSION = 4
OTLP = ApiDoc(
    body={"description": "an OTLP ExportTraceServiceRequest (protobuf, or OTLP/JSON), gzip allowed"},
    body_types=("application/x-protobuf", "application/json"),
    answers={200: {"type": "object", "description": "`{}` once the batch is stored"}},
)


@post("/otel/v1/traces", status_code=200, opt=OTLP.opt)
async def otlp_traces(request: Request[Any, Any, State], jobs: JobQueue) -> Response[Any]:
    """OTLP/HTTP trace export (protobuf or JSON, gzip or not): 200 `{}` once the batch is durable, or
    200 with OTLP `partial_success` when some spans were refused (400 when all were)."""
    caller: Caller = request.state.caller
    version = request.headers.get("x-langfuse-ingestion-version")
    if version is not None and (not version.isdigit() or int(version) > MAX_INGESTION_VERSION):
        raise InvalidInput(f"x-langfuse-ingestion-version must be a number ≤ {MAX_INGESTION_VERSION}")
    content_type = request.headers.get("content-type", "")
    encoding = request.headers.get("content-encoding")
    body = await request.body()
    batch = RawBatch.create(
        caller.project_id, content_type, encoding, request.headers.get("x-langfuse-sdk-version")
    )
    inflated = decompress(body, encoding, request.app.state.storage.settings.ingest_max_inflated_bytes)
    checked = check_export(inflated, content_type, batch.stored_at)  # the worker skips the same spans
    if not checked.accepted:
        if checked.rejected:  # 400 before anything is stored
            raise InvalidInput(rejection_message(checked.rejected))
        return Response({})
    if (busy := await backpressure(request, jobs)) is not None:
        return busy
    await store_and_enqueue(request.app.state.storage, jobs, batch, body)
    if checked.rejected:
        content, media = export_response(checked.rejected, content_type)
        return Response(content, media_type=media)
    return Response({})


OTLP_ROUTES = [otlp_traces]
