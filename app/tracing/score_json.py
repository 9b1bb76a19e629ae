"""Langfuse's score JSON decoded to a NewScore: the body of `POST /api/public/scores` and of the batch
API's `score-create` events. One decoder for the routes that accept them and the worker that stores
them (which is why it lives beside the batch decoder, not in a transport)."""

from __future__ import annotations

from typing import Any

from app.errors import InvalidInput
from app.tracing.scores import NewScore, score_problem

_TEXT_FIELDS = (  # stored in text columns: anything else would fail the write later
    "id",
    "traceId",
    "observationId",
    "sessionId",
    "datasetRunId",
    "comment",
    "configId",
    "queueId",
    "environment",
)


def parse_score(body: Any) -> NewScore:
    """A score's JSON as a NewScore (the event time, if any, is the caller's to add); InvalidInput
    names the field whose JSON type is wrong."""
    if not isinstance(body, dict):
        raise InvalidInput("score must be an object")
    if not isinstance(body.get("name"), str):
        raise InvalidInput("name is required")
    for name in _TEXT_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidInput(f"{name} must be a string")
    value = body.get("value")
    if value is not None and not isinstance(value, str | int | float):
        raise InvalidInput("value must be a number or a string")
    declared, source = body.get("dataType"), body.get("source", "API")
    metadata = body.get("metadata")
    return NewScore(
        name=body["name"],
        value=value,
        data_type=declared if isinstance(declared, str) else None,
        source=source if isinstance(source, str) else "",  # no source: refused by the rules
        metadata=metadata if isinstance(metadata, dict) else {},
        id=body.get("id"),
        trace_id=body.get("traceId"),
        observation_id=body.get("observationId"),
        session_id=body.get("sessionId"),
        dataset_run_id=body.get("datasetRunId"),
        comment=body.get("comment"),
        config_id=body.get("configId"),
        queue_id=body.get("queueId"),
        environment=body.get("environment"),
    )


def score_json_problem(body: Any) -> str | None:
    """Why a score's JSON is refused (its shape or the score rules, naming the field), or None."""
    try:
        return score_problem(parse_score(body))
    except InvalidInput as exc:
        return str(exc)
