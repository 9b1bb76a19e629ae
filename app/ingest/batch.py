"""POST /api/public/ingestion: the Langfuse batch API, stored durably and enqueued before the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.response import Response

from app.auth import throttle
from app.auth.caller import Caller
from app.errors import InvalidInput
from app.http_json import ApiDoc, json_body
from app.ingest.backpressure import backpressure
from app.jobs.contracts import JobQueue, store_and_enqueue
from app.storage import Storage, json_text
from app.tracing import legacy, scores
from app.tracing.pipeline import legacy_batch
from app.tracing.public_key_scores import screen_public_key_events
from app.tracing.score_json import parse_score

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


def _event_count(doc: Any) -> int:
    batch = doc.get("batch") if isinstance(doc, dict) else None
    return len(batch) if isinstance(batch, list) else 1


# Also open to a public key alone (`Authorization: Bearer pk-…`, the browser SDK): new scores only.
@post("/ingestion", status_code=207, opt={**BATCH.opt, "public_key": True})
async def ingestion(request: Request[Any, Any, State], jobs: JobQueue) -> Response[dict[str, Any]]:
    """Langfuse batch API: 207 with per-event successes and errors; a bad event never sinks the others.
    With a public key alone: counted against its rate limit (429 for the request), then every event but
    a new API score is refused (403 each)."""
    caller: Caller = request.state.caller
    storage: Storage = request.app.state.storage
    doc = await json_body(request, deep_as_text=json_text.MAX_DEPTH + 4)  # batch → event → body → value
    if caller.public_key_only:
        client_ip = request.client.host if request.client else "unknown"
        await throttle.check_public_key_rate(storage, str(caller.api_key_id), client_ip, _event_count(doc))
    try:
        validated = legacy.validate_batch(doc, datetime.now(UTC))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    if caller.public_key_only:
        await screen_public_key_events(storage, caller.project_id, validated)
    events = [e for e in validated.events if e["type"] == "score-create"]
    if any(e["body"].get("configId") for e in events):
        problems = await scores.check_scores(
            storage, caller.project_id, [parse_score(e["body"]) for e in events]
        )
        rejected = {id(e): p for e, p in zip(events, problems, strict=True) if p}
        validated.errors += [
            legacy.EventError(e["id"], 400, f"body.{rejected[id(e)]}") for e in events if id(e) in rejected
        ]
        validated.events = [e for e in validated.events if id(e) not in rejected]
    if validated.events:
        if (busy := await backpressure(request, jobs)) is not None:
            return busy
        batch, body = legacy_batch(caller.project_id, validated.events)
        await store_and_enqueue(storage, jobs, batch, body)
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


BATCH_ROUTES = [ingestion]
