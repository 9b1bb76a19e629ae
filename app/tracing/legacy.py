"""The Langfuse batch API (`POST /api/public/ingestion`): validate events, then fold them into rows.

Events for one entity merge as the contract says: creates before updates, each in timestamp order;
later non-null values win; metadata is merged; tags are unioned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.storage import json_text
from app.storage.clickhouse.write_rows import ObservationRow, TraceRow
from app.tracing.mapping import normalize_environment, parse_time
from app.tracing.numbers import DROPPED, map_problem, merge_notes, storable_costs, storable_usage
from app.tracing.score_json import score_json_problem
from app.tracing.span import EARLIEST, LATEST_AHEAD, LEVELS
from app.tracing.values import NOTE_KEY

OBSERVATION_EVENT_TYPES = {
    "span-create": "SPAN",
    "span-update": "SPAN",
    "generation-create": "GENERATION",
    "generation-update": "GENERATION",
    "event-create": "EVENT",
    "agent-create": "AGENT",
    "tool-create": "TOOL",
    "chain-create": "CHAIN",
    "retriever-create": "RETRIEVER",
    "evaluator-create": "EVALUATOR",
    "embedding-create": "EMBEDDING",
    "guardrail-create": "GUARDRAIL",
    "observation-create": None,
    "observation-update": None,
}
EVENT_TYPES = {*OBSERVATION_EVENT_TYPES, "trace-create", "score-create", "sdk-log"}
MAX_EVENTS = 5000


@dataclass(frozen=True, slots=True)
class EventError:
    id: str
    status: int
    message: str
    error: str = "invalid_event"


@dataclass
class ValidatedBatch:
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[EventError] = field(default_factory=list)


def validate_batch(doc: Any, now: datetime) -> ValidatedBatch:
    """Split a request body received at `now` into valid events and per-event errors; raise ValueError
    if it is no batch."""
    if not isinstance(doc, dict) or not isinstance(doc.get("batch"), list):
        raise ValueError("body must be an object with a 'batch' list")
    if len(doc["batch"]) > MAX_EVENTS:
        raise ValueError(f"batch has {len(doc['batch'])} events; at most {MAX_EVENTS} are allowed")
    out = ValidatedBatch()
    for index, event in enumerate(doc["batch"]):
        event_id = str(event.get("id", f"#{index}")) if isinstance(event, dict) else f"#{index}"
        problem = _event_problem(event, now)
        if problem:
            out.errors.append(EventError(event_id, 400, problem))
        else:
            out.events.append(event)
    return out


def _time_problem(value: Any, name: str, now: datetime) -> str | None:
    moment = parse_time(value)
    if moment is None:
        return f"{name} must be an ISO 8601 date-time"
    if not EARLIEST <= moment <= now + LATEST_AHEAD:
        return f"{name} {value!r} is outside the accepted range ({EARLIEST:%Y-%m-%d} to one day from now)"
    return None


_TEXT_FIELDS = (
    "traceId",
    "parentObservationId",
    "name",
    "userId",
    "sessionId",
    "release",
    "version",
    "environment",
    "statusMessage",
    "model",
    "promptName",
)


def _event_problem(event: Any, now: datetime) -> str | None:
    if not isinstance(event, dict):
        return "event must be an object"
    if not isinstance(event.get("id"), str) or not event["id"]:
        return "event.id must be a non-empty string"
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        return f"event.type {kind!r} is not one of {sorted(EVENT_TYPES)}"
    if problem := _time_problem(event.get("timestamp"), "event.timestamp", now):
        return problem
    body = event.get("body")
    if not isinstance(body, dict):
        return "event.body must be an object"
    if kind == "sdk-log":
        return None
    if kind == "score-create":
        problem = score_json_problem(body)
        return f"body.{problem}" if problem else None
    if not isinstance(body.get("id"), str) or not body["id"]:
        return f"body.id is required for {kind}"
    for name in ("startTime", "endTime", "completionStartTime", "timestamp"):
        if body.get(name) is not None and (problem := _time_problem(body[name], f"body.{name}", now)):
            return problem
    level = body.get("level")
    if level is not None and level not in LEVELS:
        return f"body.level {level!r} is not one of {', '.join(LEVELS)}"
    for name in _TEXT_FIELDS:  # stored as text: another type would fail the whole batch when written
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"body.{name} must be a string, not {type(body[name]).__name__}"
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        return "body.tags must be a list of strings"
    return numbers_problem(body)  # (updates may omit traceId: the stored observation has it)


def _ordered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Creates before updates, each by timestamp (stable for equal times)."""
    return sorted(events, key=lambda e: (str(e["type"]).endswith("-update"), str(e["timestamp"])))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return json_text.bound_depth(text)


_USAGE_KEYS = {
    "input": ("input", "promptTokens"),
    "output": ("output", "completionTokens"),
    "total": ("total", "totalTokens"),
}
_USAGE_COST_KEYS = {"input": "inputCost", "output": "outputCost", "total": "totalCost"}


def _picked(usage: dict[str, Any]) -> dict[str, Any]:
    """The counts of a `usage` object by type, each under the name it was given."""
    picked = {}
    for names in _USAGE_KEYS.values():
        name = next((n for n in names if usage.get(n) is not None), None)
        if name is not None:
            picked[name] = usage[name]
    return picked


def numbers_problem(body: dict[str, Any]) -> str | None:
    """Why an observation body's usage, costs or prompt version hold something that is no number
    (naming the field), or None. Numbers out of range are no problem here: they are dropped with a note."""
    for name in ("usageDetails", "costDetails"):
        if problem := map_problem(body.get(name), f"body.{name}"):
            return problem
    usage = body.get("usage")
    if isinstance(usage, dict):
        wanted = {**_picked(usage), **{n: usage.get(n) for n in _USAGE_COST_KEYS.values()}}
        if problem := map_problem(wanted, "body.usage"):
            return problem
    version = body.get("promptVersion")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        return "body.promptVersion must be a whole number"
    return None


def _usage(body: dict[str, Any]) -> tuple[dict[str, int], dict[str, str]]:
    """Usage counts by type, and notes for the values that were no storable counts."""
    details = body.get("usageDetails")
    if isinstance(details, dict):
        return storable_usage(details, "usageDetails")
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return {}, {}
    counts, notes = storable_usage(_picked(usage), "usage")
    by_name = {n: kind for kind, names in _USAGE_KEYS.items() for n in names}
    return {by_name[n]: v for n, v in counts.items()}, notes


def _costs(body: dict[str, Any]) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Costs by type (USD), and notes for the values that were no storable costs."""
    raw = body.get("costDetails")
    if isinstance(raw, dict):
        return storable_costs(raw, "costDetails")
    usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
    costs, notes = storable_costs({n: usage.get(n) for n in _USAGE_COST_KEYS.values()}, "usage")
    return {k: costs[n] for k, n in _USAGE_COST_KEYS.items() if n in costs}, notes


def observation_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The row fields an observation event sets (only those it carries)."""
    body, kind = event["body"], event["type"]
    (usage, usage_notes), (costs, cost_notes) = _usage(body), _costs(body)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        metadata = {"metadata": metadata}
    if usage_notes or cost_notes:
        metadata = {**(metadata or {}), DROPPED: {**usage_notes, **cost_notes}}
    fields: dict[str, Any] = {
        "id": body["id"],
        "trace_id": body.get("traceId"),
        "parent_observation_id": body.get("parentObservationId"),
        "type": OBSERVATION_EVENT_TYPES.get(kind)
        or (str(body["type"]).upper() if body.get("type") else None),
        "name": body.get("name"),
        "start_time": parse_time(body.get("startTime")),
        "end_time": parse_time(body.get("endTime")),
        "completion_start_time": parse_time(body.get("completionStartTime")),
        "level": body.get("level"),
        "status_message": body.get("statusMessage"),
        "version": body.get("version"),
        "environment": normalize_environment(body["environment"]) if body.get("environment") else None,
        "input": _text(body.get("input")),
        "output": _text(body.get("output")),
        "provided_model_name": body.get("model"),
        "model_parameters": _text(body.get("modelParameters")),
        "usage_details": usage or None,
        "cost_details": costs or None,
        "prompt_name": body.get("promptName"),
        "prompt_version": body.get("promptVersion"),
        "metadata": metadata,
    }
    if kind == "event-create" and fields["start_time"] is not None and fields["end_time"] is None:
        fields["end_time"] = fields["start_time"]
    if kind.endswith("-create") and fields["start_time"] is None:
        fields["start_time"] = parse_time(event["timestamp"])
    return {k: v for k, v in fields.items() if v is not None}


def fold(state: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Later non-null values win; metadata merges key by key."""
    merged = dict(state)
    for key, value in fields.items():
        if key == "metadata":
            before = merged.get("metadata", {})
            merged["metadata"] = {**before, **value}
            if DROPPED in before and DROPPED in value:  # notes of dropped values accumulate
                merged["metadata"][DROPPED] = merge_notes(before[DROPPED], value[DROPPED])
        else:
            merged[key] = value
    return merged


def row_state(row: ObservationRow) -> dict[str, Any]:
    """A stored row as fold state."""
    from dataclasses import asdict

    state = asdict(row)
    state["metadata"] = {
        n: _json_value(v)
        for n, v in zip(state.pop("metadata_names"), state.pop("metadata_values"), strict=True)
    }
    return state


def _json_value(text: str) -> Any:
    try:
        return json_text.loads(text)
    except ValueError:
        return text


def state_row(project_id: str, state: dict[str, Any], now: datetime) -> ObservationRow:
    """A folded state as a row; an end before the start is stored as the start, with a note."""
    metadata = state.get("metadata", {})
    values = {k: v for k, v in state.items() if k in ObservationRow.__dataclass_fields__}
    start, end = state.get("start_time") or now, state.get("end_time")
    if end is not None and end < start:
        values["end_time"] = start
        note = f"endTime {end.isoformat()} was before startTime; stored as startTime"
        metadata = {**metadata, NOTE_KEY: note}
    values.update(
        project_id=project_id,
        trace_id=state.get("trace_id") or state["id"],
        parent_observation_id=state.get("parent_observation_id"),
        type=state.get("type") or "SPAN",
        name=state.get("name") or "",
        start_time=state.get("start_time") or now,
        metadata_names=list(metadata),
        metadata_values=[_text(v) or "" for v in metadata.values()],
        event_ts=now,
    )
    costs = values.get("cost_details") or {}
    values["total_cost"] = costs.get("total", sum(costs.values(), Decimal(0))) if costs else None
    return ObservationRow(**values)


def fold_observations(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Observation id → folded fields of this batch's events for it."""
    states: dict[str, dict[str, Any]] = {}
    for event in _ordered(events):
        fields = observation_fields(event)
        states[fields["id"]] = fold(states.get(fields["id"], {}), fields)
    return states


def fold_traces(project_id: str, events: list[dict[str, Any]], now: datetime) -> dict[str, TraceRow]:
    """Trace id → merged trace row of this batch's trace-create events (upserts)."""
    states: dict[str, dict[str, Any]] = {}
    for event in _ordered(events):
        body = event["body"]
        fields = {
            "timestamp": parse_time(body.get("timestamp")) or parse_time(event["timestamp"]),
            "name": body.get("name"),
            "user_id": body.get("userId"),
            "session_id": body.get("sessionId"),
            "release": body.get("release"),
            "version": body.get("version"),
            "environment": normalize_environment(body["environment"]) if body.get("environment") else None,
            "public": body.get("public"),
            "input": _text(body.get("input")),
            "output": _text(body.get("output")),
            "metadata": body.get("metadata") if isinstance(body.get("metadata"), dict) else None,
        }
        state = fold(states.get(body["id"], {}), {k: v for k, v in fields.items() if v is not None})
        if isinstance(body.get("tags"), list):
            state["tags"] = sorted(set(state.get("tags", [])) | {str(t) for t in body["tags"]})
        states[body["id"]] = state
    rows = {}
    for trace_id, s in states.items():
        metadata = s.get("metadata", {})
        rows[trace_id] = TraceRow(
            project_id=project_id,
            id=trace_id,
            timestamp=s.get("timestamp") or now,
            name=s.get("name"),
            user_id=s.get("user_id"),
            session_id=s.get("session_id"),
            release=s.get("release"),
            version=s.get("version"),
            environment=s.get("environment", "default"),
            tags=s.get("tags", []),
            public=bool(s.get("public", False)),
            input=s.get("input"),
            output=s.get("output"),
            metadata_names=list(metadata),
            metadata_values=[_text(v) or "" for v in metadata.values()],
            event_ts=now,
        )
    return rows
