"""Intake routes (OTLP, batch, scores): validate, store the raw request durably, enqueue, then acknowledge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Request, delete, post
from litestar.datastructures import State
from litestar.response import Response

from app.auth.caller import Caller
from app.errors import InvalidInput
from app.http_json import ApiDoc, json_body
from app.jobs.contracts import job_queue, store_and_enqueue
from app.storage import Storage, json_text
from app.tracing import legacy, score_configs, scores
from app.tracing.otlp import check_export, decompress, export_response, rejection_message
from app.tracing.pipeline import RawBatch, legacy_batch
from app.tracing.scores import score_problem

MAX_INGESTION_VERSION = 4
NULLABLE_STRING = {"type": ["string", "null"]}
OTLP = ApiDoc(
    body={"description": "an OTLP ExportTraceServiceRequest (protobuf, or OTLP/JSON), gzip allowed"},
    body_types=("application/x-protobuf", "application/json"),
    answers={200: {"type": "object", "description": "`{}` once the batch is stored"}},
)
BATCH = ApiDoc(
    body={
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {
                "type": "array",
                "maxItems": legacy.MAX_EVENTS,
                "items": {
                    "type": "object",
                    "required": ["id", "type", "timestamp", "body"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"type": "string", "enum": sorted(legacy.EVENT_TYPES)},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "body": {"type": "object", "description": "the trace, observation or score"},
                        "metadata": {},
                    },
                },
            },
            "metadata": {},
        },
    },
    answers={
        207: {
            "type": "object",
            "required": ["successes", "errors"],
            "properties": {
                "successes": {"type": "array", "items": {"type": "object"}},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
)
SCORE = {
    "type": "object",
    "required": ["name", "value"],
    "description": "one of traceId, sessionId, datasetRunId is required; observationId needs traceId",
    "properties": {
        "id": NULLABLE_STRING,
        "traceId": NULLABLE_STRING,
        "sessionId": NULLABLE_STRING,
        "observationId": NULLABLE_STRING,
        "datasetRunId": NULLABLE_STRING,
        "name": {"type": "string", "minLength": 1},
        "value": {"type": ["number", "string"]},
        "dataType": {"type": "string", "enum": list(scores.DATA_TYPES)},
        "source": {"type": "string", "enum": list(scores.SOURCES)},
        "comment": NULLABLE_STRING,
        "metadata": {},
        "environment": NULLABLE_STRING,
        "configId": NULLABLE_STRING,
        "timestamp": {"type": ["string", "null"], "format": "date-time"},
    },
}
SCORES = ApiDoc(
    body={"oneOf": [SCORE, {"type": "array", "items": SCORE}]},
    answers={
        200: {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        202: {"type": "object", "description": "an array, all accepted"},
        207: {
            "type": "object",
            "description": "an array, some rejected",
            "required": ["accepted", "rejected", "errors"],
            "properties": {
                "accepted": {"type": "integer"},
                "rejected": {"type": "integer"},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
)


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


@post("/otel/v1/traces", status_code=200, opt=OTLP.opt)
async def otlp_traces(request: Request[Any, Any, State]) -> Response[Any]:
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
    if (busy := await _backpressure(request)) is not None:
        return busy
    await store_and_enqueue(request.app.state, batch, body)
    if checked.rejected:
        content, media = export_response(checked.rejected, content_type)
        return Response(content, media_type=media)
    return Response({})


@post("/ingestion", status_code=207, opt=BATCH.opt)
async def ingestion(request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
    """Langfuse batch API: 207 with per-event successes and errors; a bad event never sinks the others."""
    caller: Caller = request.state.caller
    try:
        doc = await json_body(request, deep_as_text=json_text.MAX_DEPTH + 4)  # batch → event → body → value
        validated = legacy.validate_batch(doc, datetime.now(UTC))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    scores = [e for e in validated.events if e["type"] == "score-create"]
    if any(e["body"].get("configId") for e in scores):
        problems = await score_configs.check_scores(
            request.app.state.storage, caller.project_id, [e["body"] for e in scores]
        )
        rejected = {id(e): p for e, p in zip(scores, problems, strict=True) if p}
        validated.errors += [
            legacy.EventError(e["id"], 400, f"body.{rejected[id(e)]}") for e in scores if id(e) in rejected
        ]
        validated.events = [e for e in validated.events if id(e) not in rejected]
    if validated.events:
        if (busy := await _backpressure(request)) is not None:
            return busy
        batch, body = legacy_batch(caller.project_id, validated.events)
        await store_and_enqueue(request.app.state, batch, body)
    return Response(
        {
            "successes": [{"id": e["id"], "status": 201} for e in validated.events],
            "errors": [
                {"id": e.id, "status": e.status, "message": e.message, "error": e.error}
                for e in validated.errors
            ],
        },
        status_code=207,
    )


@post("/scores", status_code=200, opt=SCORES.opt)
async def create_scores(request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
    """One score → 200 `{id}`; a JSON array (SDK 5.x) → 202, or 207 with the rejected ones."""
    caller: Caller = request.state.caller
    doc = await json_body(request)
    items = doc if isinstance(doc, list) else [doc]
    now = datetime.now(UTC).isoformat()
    accepted, errors = [], []
    checkable = [item if isinstance(item, dict) and not score_problem(item) else {} for item in items]
    config_problems = await score_configs.check_scores(
        request.app.state.storage, caller.project_id, checkable
    )
    for index, item in enumerate(items):
        problem = score_problem(item) or config_problems[index]
        if problem:
            if not isinstance(doc, list):
                raise InvalidInput(problem)
            errors.append({"message": f"score {index}: {problem}"})
            continue
        item = {**item, "id": str(item.get("id") or uuid.uuid4())}
        accepted.append(
            {
                "id": item["id"],
                "type": "score-create",
                "timestamp": item.get("timestamp") or now,
                "body": item,
            }
        )
    if accepted:
        if (busy := await _backpressure(request)) is not None:
            return busy
        batch, body = legacy_batch(caller.project_id, accepted)
        await store_and_enqueue(request.app.state, batch, body)
    if not isinstance(doc, list):
        return Response({"id": accepted[0]["id"]}, status_code=200)
    if errors:
        return Response(
            {"accepted": len(accepted), "rejected": len(errors), "errors": errors}, status_code=207
        )
    return Response({"message": "Accepted"}, status_code=202)


@delete("/scores/{score_id:str}", status_code=204)
async def delete_score(request: Request[Any, Any, State], score_id: str) -> None:
    """Delete a score: a newer row of it marked deleted (merged away by ClickHouse, hidden from reads)."""
    caller: Caller = request.state.caller
    storage: Storage = request.app.state.storage
    await scores.delete_score(storage, caller.project_id, score_id)


INGEST_ROUTES = [otlp_traces, ingestion, create_scores, delete_score]
