"""POST /api/public/scores and DELETE /api/public/scores/{id}: score intake (enqueued) and deletion."""

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
from app.ingest.backpressure import backpressure
from app.jobs.contracts import JobQueue, store_and_enqueue
from app.storage import Storage
from app.tracing import scores
from app.tracing.pipeline import legacy_batch
from app.tracing.score_json import parse_score
from app.tracing.scores import NewScore

NULLABLE_STRING = {"type": ["string", "null"]}
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


async def _problems(storage: Storage, project_id: str, items: list[Any]) -> list[str | None]:
    """Why each score's JSON is refused (its shape, its rules, its config; naming the field), or None."""
    parsed: list[NewScore | str] = []
    for item in items:
        try:
            parsed.append(parse_score(item))
        except InvalidInput as exc:
            parsed.append(str(exc))
    valid = [p for p in parsed if isinstance(p, NewScore)]
    checked = iter(await scores.check_scores(storage, project_id, valid))
    return [p if isinstance(p, str) else next(checked) for p in parsed]


@post("/scores", status_code=200, opt=SCORES.opt)
async def create_scores(request: Request[Any, Any, State], jobs: JobQueue) -> Response[dict[str, Any]]:
    """One score → 200 `{id}`; a JSON array (SDK 5.x) → 202, or 207 with the rejected ones."""
    caller: Caller = request.state.caller
    doc = await json_body(request)
    items = doc if isinstance(doc, list) else [doc]
    now = datetime.now(UTC).isoformat()
    accepted, errors = [], []
    problems = await _problems(request.app.state.storage, caller.project_id, items)
    for index, (item, problem) in enumerate(zip(items, problems, strict=True)):
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
        if (busy := await backpressure(request, jobs)) is not None:
            return busy
        batch, body = legacy_batch(caller.project_id, accepted)
        await store_and_enqueue(request.app.state.storage, jobs, batch, body)
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


SCORE_ROUTES = [create_scores, delete_score]
