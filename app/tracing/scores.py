"""Scores: validation of the public shapes and conversion to rows."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.clickhouse.write_rows import ScoreRow
from app.storage.clickhouse.writes import fetch_score, insert_scores
from app.tracing.mapping import normalize_environment
from app.tracing.numbers import is_finite_number

DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION")
SOURCES = ("API", "EVAL", "ANNOTATION")
MAX_TEXT = 500


def data_type_of(body: dict[str, Any]) -> str:
    declared = body.get("dataType")
    if isinstance(declared, str):
        return declared.upper()
    return "CATEGORICAL" if isinstance(body.get("value"), str) else "NUMERIC"


_TEXT_FIELDS = (
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


def score_problem(body: Any) -> str | None:
    """Why a score body is invalid (naming the field), or None."""
    if not isinstance(body, dict):
        return "score must be an object"
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        return "name is required"
    for field in _TEXT_FIELDS:  # stored in text columns: anything else would fail the write later
        if body.get(field) is not None and not isinstance(body[field], str):
            return f"{field} must be a string"
    if not any(body.get(k) for k in ("traceId", "sessionId", "observationId", "datasetRunId")):
        return "one of traceId, sessionId, datasetRunId is required"
    if body.get("observationId") and not body.get("traceId"):
        return "observationId needs traceId"
    kind = data_type_of(body)
    if kind not in DATA_TYPES:
        return f"dataType must be one of {', '.join(DATA_TYPES)}"
    value = body.get("value")
    if value is None:
        return "value is required"
    if kind == "NUMERIC" and not is_finite_number(value):
        return "value must be a finite number for dataType NUMERIC"
    if isinstance(value, int | float) and not isinstance(value, bool) and not is_finite_number(value):
        return f"value must be a finite number (a Float64) for dataType {kind}"
    if kind == "BOOLEAN" and value not in (0, 1):
        return "value must be 0 or 1 for dataType BOOLEAN"
    if kind in ("CATEGORICAL", "TEXT", "CORRECTION") and not isinstance(value, str | int | float):
        return f"value must be a string for dataType {kind}"
    if kind == "TEXT" and not 1 <= len(str(value)) <= MAX_TEXT:
        return f"value must be 1 to {MAX_TEXT} characters for dataType TEXT"
    source = body.get("source", "API")
    if source not in SOURCES:
        return f"source must be one of {', '.join(SOURCES)}"
    return None


def build_row(project_id: str, body: dict[str, Any], timestamp: datetime, now: datetime) -> ScoreRow:
    """A validated score body as a row; string values keep their text, numbers their value."""
    kind = data_type_of(body)
    value = body["value"]
    raw_metadata = body.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    numeric = None if isinstance(value, str) else float(value)
    return ScoreRow(
        project_id=project_id,
        id=str(body.get("id") or uuid.uuid4()),
        timestamp=timestamp,
        name=body["name"].strip(),
        trace_id=body.get("traceId"),
        observation_id=body.get("observationId"),
        session_id=body.get("sessionId"),
        dataset_run_id=body.get("datasetRunId"),
        value=numeric,
        string_value=str(value) if isinstance(value, str) else None,
        data_type=kind,
        source=str(body.get("source", "API")),
        comment=body.get("comment"),
        metadata_names=list(metadata),
        metadata_values=[v if isinstance(v, str) else json.dumps(v) for v in metadata.values()],
        config_id=body.get("configId"),
        queue_id=body.get("queueId"),
        environment=normalize_environment(body.get("environment") or "default"),
        event_ts=now,
    )


async def delete_score(storage: Storage, project_id: str, score_id: str) -> None:
    """Write the score again marked deleted (same sort key, newer event time); NotFound if unknown."""
    row = await fetch_score(storage.clickhouse, project_id, score_id)
    if row is None or row.is_deleted:
        raise NotFound(f"no score {score_id!r}")
    await insert_scores(storage.clickhouse, [replace(row, is_deleted=1, event_ts=datetime.now(UTC))])


async def create_score(storage: Storage, project_id: str, body: dict[str, Any]) -> ScoreRow:
    """Validate a score (shape, then its config) and store it now; InvalidInput names the problem."""
    from app.tracing.score_configs import check_scores

    problem = score_problem(body) or (await check_scores(storage, project_id, [body]))[0]
    if problem:
        raise InvalidInput(problem)
    now = datetime.now(UTC)
    row = build_row(project_id, body, now, now)
    await insert_scores(storage.clickhouse, [row])
    return row
