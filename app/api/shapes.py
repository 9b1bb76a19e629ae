"""Langfuse's JSON shapes of traces, observations, scores and sessions (what the SDKs parse)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.storage.clickhouse.queries.groups import GroupView
from app.storage.clickhouse.queries.rows import ObservationView, ScoreView, TraceView, json_or_text


def num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def observation_json(
    o: ObservationView, project_id: str, groups: Sequence[str] | None = None
) -> dict[str, Any]:
    """An observation in the Langfuse shape; `groups` (v2 `fields`) picks field groups, None all."""
    usage = o.usage_details
    out: dict[str, Any] = {
        "id": o.id,
        "traceId": o.trace_id,
        "startTime": iso(o.start_time),
        "endTime": iso(o.end_time),
        "projectId": project_id,
        "parentObservationId": o.parent_observation_id,
        "type": o.type,
    }
    chosen = set(groups) if groups is not None else None

    def want(group: str) -> bool:
        return chosen is None or group in chosen

    if want("basic"):
        out |= {
            "name": o.name,
            "level": o.level,
            "statusMessage": o.status_message,
            "version": o.version,
            "environment": o.environment,
            "userId": o.user_id,
            "sessionId": o.session_id,
            "isRootObservation": o.parent_observation_id is None,
        }
    if want("time"):
        out |= {"completionStartTime": iso(o.completion_start_time)}
    if want("io"):
        out |= {"input": json_or_text(o.input), "output": json_or_text(o.output)}
    if want("metadata"):
        out |= {"metadata": o.metadata}
    if want("model"):
        out |= {
            "model": o.model,
            "internalModelId": o.internal_model_id,
            "modelId": o.internal_model_id,
            "modelParameters": json_or_text(o.model_parameters),
        }
    if want("usage"):
        costs = {k: float(v) for k, v in o.cost_details.items()}
        out |= {
            "usageDetails": usage,
            "costDetails": costs,
            "totalCost": num(o.total_cost),
            "usage": {
                "input": usage.get("input", 0),
                "output": usage.get("output", 0),
                "total": usage.get("total", 0),
                "unit": "TOKENS",
            },
            "calculatedTotalCost": num(o.total_cost),
            "calculatedInputCost": costs.get("input"),
            "calculatedOutputCost": costs.get("output"),
        }
    if want("prompt"):
        out |= {"promptId": None, "promptName": o.prompt_name, "promptVersion": o.prompt_version}
    if want("metrics"):
        ttft = None
        if o.completion_start_time is not None:
            ttft = (o.completion_start_time - o.start_time).total_seconds()
        out |= {"latency": None if o.latency_ms is None else o.latency_ms / 1000, "timeToFirstToken": ttft}
    if want("trace_context"):
        out |= {"tags": o.tags, "release": o.release, "traceName": o.trace_name}
    return out


def score_json(s: ScoreView, project_id: str) -> dict[str, Any]:
    """A score as v1/v2 reads (≤ 4.x SDKs) give it: a number `value` for every type but TEXT, and the
    text in `stringValue` (booleans "True"/"False", categories their label)."""
    string_value = s.string_value
    if s.data_type == "BOOLEAN" and string_value is None and s.value is not None:
        string_value = "True" if s.value else "False"
    value: Any = s.value
    if value is None and s.data_type != "TEXT":
        value = 0.0
    return {
        "id": s.id,
        "projectId": project_id,
        "traceId": s.trace_id,
        "observationId": s.observation_id,
        "sessionId": s.session_id,
        "datasetRunId": s.dataset_run_id,
        "name": s.name,
        "value": value,
        "stringValue": string_value,
        "dataType": s.data_type,
        "source": s.source,
        "comment": s.comment,
        "configId": s.config_id,
        "queueId": s.queue_id,
        "authorUserId": s.author_user_id,
        "environment": s.environment,
        "metadata": s.metadata,
        "timestamp": iso(s.timestamp),
        "createdAt": iso(s.created_at),
        "updatedAt": iso(s.updated_at),
    }


def score_v3_json(s: ScoreView, project_id: str) -> dict[str, Any]:
    """A score as v3 reads (SDK 5.x) give it: booleans as true/false, and the scored `subject`."""
    out = score_json(s, project_id)
    if s.data_type == "BOOLEAN":
        out["value"] = bool(s.value)
    elif s.data_type in ("CATEGORICAL", "TEXT", "CORRECTION"):
        out["value"] = s.string_value or ""
    subject: dict[str, Any] | None = None
    if s.observation_id:
        subject = {"kind": "observation", "id": s.observation_id, "traceId": s.trace_id}
    elif s.trace_id:
        subject = {"kind": "trace", "id": s.trace_id}
    elif s.session_id:
        subject = {"kind": "session", "id": s.session_id}
    elif s.dataset_run_id:
        subject = {"kind": "experiment", "id": s.dataset_run_id}
    out["subject"] = subject
    return out


def trace_json(t: TraceView, project_id: str) -> dict[str, Any]:
    tot = t.totals
    return {
        "id": t.id,
        "projectId": project_id,
        "timestamp": iso(t.timestamp),
        "name": t.name,
        "input": json_or_text(t.input),
        "output": json_or_text(t.output),
        "sessionId": t.session_id,
        "release": t.release,
        "version": t.version,
        "userId": t.user_id,
        "metadata": t.metadata,
        "tags": t.tags,
        "public": t.public,
        "bookmarked": t.bookmarked,
        "environment": t.environment,
        "htmlPath": f"/project/{project_id}/traces/{t.id}",
        "latency": None if tot.latency_ms is None else tot.latency_ms / 1000,
        "totalCost": float(tot.total_cost),
    }


def session_json(g: GroupView, project_id: str) -> dict[str, Any]:
    return {
        "id": g.id,
        "projectId": project_id,
        "createdAt": iso(g.first_seen),
        "environment": g.environments[0] if g.environments else "default",
    }
