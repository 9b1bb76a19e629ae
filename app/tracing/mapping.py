"""Map OTLP spans (Langfuse SDK, OpenInference, OTel GenAI conventions) to observation and trace rows.

Pure functions; the contract is langfuse-api.md §2b-2c. First matching source wins everywhere.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.storage.clickhouse.write_rows import ObservationRow, TraceRow
from app.storage.json_text import bound_depth
from app.tracing.numbers import DROPPED
from app.tracing.span import Attributes, Span
from app.tracing.span_attributes import OBS_PREFIX, TRACE_PREFIX, first_value, maybe_json
from app.tracing.usage import cost_details_noted, usage_details_noted
from app.tracing.values import NOTE_KEY

OBSERVATION_TYPES = frozenset(
    {
        "SPAN",
        "GENERATION",
        "EVENT",
        "AGENT",
        "TOOL",
        "CHAIN",
        "RETRIEVER",
        "EVALUATOR",
        "GUARDRAIL",
        "EMBEDDING",
    }
)
_OPENINFERENCE_KINDS = {
    "LLM": "GENERATION",
    **{k: k for k in ("CHAIN", "RETRIEVER", "EMBEDDING", "AGENT", "TOOL", "GUARDRAIL", "EVALUATOR")},
}
_GEN_AI_OPERATIONS = {
    **dict.fromkeys(("chat", "completion", "text_completion", "generate_content", "generate"), "GENERATION"),
    "embeddings": "EMBEDDING",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
    "execute_tool": "TOOL",
}
_MODEL_KEYS = (
    "langfuse.observation.model.name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "model",
)
log = logging.getLogger(__name__)
_ENV = re.compile(r"^[a-z0-9_-]+$")
_INDEXED = re.compile(
    r"^(gen_ai\.prompt|gen_ai\.completion|llm\.input_messages|llm\.output_messages)\.(\d+)\.(.+)$"
)


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


# A JSON object or array (only those can nest).
_CONTAINER = re.compile(r"\s*[\[{]")


def _json_or_str(value: Any) -> str | None:
    """Store input/output/metadata values as text: strings as they are, the rest as JSON; parts nested
    deeper than json_text.MAX_DEPTH become their JSON text, so every reader can decode the value."""
    if value is None:
        return None
    if isinstance(value, str):  # only an object or an array can nest
        return bound_depth(value) if _CONTAINER.match(value) else value
    return bound_depth(json.dumps(value, ensure_ascii=False, default=str))


def normalize_environment(value: Any) -> str:
    """Lower-case, strip a leading 'langfuse' prefix, ≤40 chars of [a-z0-9_-], else 'default'."""
    if not isinstance(value, str):
        return "default"
    env = value.strip().lower()
    for prefix in ("langfuse-", "langfuse_", "langfuse"):
        if env.startswith(prefix):
            env = env[len(prefix) :]
            break
    return env if env and len(env) <= 40 and _ENV.match(env) else "default"


def observation_type(attrs: Attributes) -> str:
    declared = attrs.get("langfuse.observation.type")
    if isinstance(declared, str) and declared.upper() in OBSERVATION_TYPES:
        return declared.upper()
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[kind.upper()]
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in _GEN_AI_OPERATIONS:
        return _GEN_AI_OPERATIONS[operation]
    if first_value(attrs, "gen_ai.tool.name", "gen_ai.tool.call.id") is not None:
        return "TOOL"
    return "GENERATION" if first_value(attrs, *_MODEL_KEYS) is not None else "SPAN"


def _indexed_messages(attrs: Attributes, prefix: str) -> list[dict[str, Any]] | None:
    """Rebuild `prefix.N.field` flattened attributes into a list of message dicts."""
    messages: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        m = _INDEXED.match(key)
        if m and m[1] == prefix:
            field = m[3].removeprefix("message.")
            messages.setdefault(int(m[2]), {})[field] = value
    return [messages[i] for i in sorted(messages)] or None


def _event_messages(span: Span) -> tuple[list[Any] | None, list[Any] | None]:
    inputs, outputs = [], []
    for event in span.events:
        if event.name == "gen_ai.choice":
            outputs.append({k.removeprefix("gen_ai."): maybe_json(v) for k, v in event.attributes.items()})
        elif event.name.startswith("gen_ai.") and event.name.endswith(".message"):
            role = event.name.removeprefix("gen_ai.").removesuffix(".message")
            inputs.append(
                {
                    "role": role,
                    **{k.removeprefix("gen_ai."): maybe_json(v) for k, v in event.attributes.items()},
                }
            )
    return inputs or None, outputs or None


def _genai_input(a: Attributes) -> Any:
    messages = maybe_json(a.get("gen_ai.input.messages"))
    system = maybe_json(a.get("gen_ai.system_instructions"))
    if messages is not None and system is not None:
        messages = [
            {"role": "system", "content": system},
            *(messages if isinstance(messages, list) else [messages]),
        ]
    return messages


_INDEXED_PREFIXES = ("gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.")


def input_output(span: Span) -> tuple[Any, Any]:
    """Input and output, each from the first source that has it (cheap sources first)."""
    a = span.attributes
    raw_in, raw_out = a.get(OBS_PREFIX + "input"), a.get(OBS_PREFIX + "output")
    if raw_in is not None and raw_out is not None:  # the Langfuse SDK's case: nothing else to look at
        return raw_in, raw_out
    event_in, event_out = _event_messages(span) if span.events else (None, None)
    indexed = any(k.startswith(_INDEXED_PREFIXES) for k in a)
    if raw_in is None:
        raw_in = event_in if event_in is not None else first_value(a, "input.value", "traceloop.entity.input")
    if raw_in is None and indexed:
        raw_in = _indexed_messages(a, "gen_ai.prompt") or _indexed_messages(a, "llm.input_messages")
    if raw_in is None:
        raw_in = _genai_input(a)
    if raw_out is None:
        raw_out = (
            event_out if event_out is not None else first_value(a, "output.value", "traceloop.entity.output")
        )
    if raw_out is None and indexed:
        raw_out = _indexed_messages(a, "gen_ai.completion") or _indexed_messages(a, "llm.output_messages")
    if raw_out is None:
        raw_out = maybe_json(a.get("gen_ai.output.messages"))
    return raw_in, raw_out


def _decoded_metadata(attrs: Attributes, prefix: str, decode_values: bool) -> dict[str, Any]:
    """`<prefix>metadata` (a JSON object) merged with `<prefix>metadata.<k>` entries."""
    out: dict[str, Any] = {}
    whole = maybe_json(attrs.get(prefix + "metadata"))
    if isinstance(whole, dict):
        out.update(whole)
    elif whole is not None:
        out["metadata"] = whole
    dotted = prefix + "metadata."
    for key, value in attrs.items():
        if key.startswith(dotted):
            out[key[len(dotted) :]] = maybe_json(value) if decode_values else value
    return out


def _sdk_major(span: Span, header_version: str | None) -> int:
    version = span.scope_version if span.scope_name == "langfuse-sdk" else (header_version or "")
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _non_negative_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError, OverflowError):
            return None
    return value if value >= 0 else None


def _tags(value: Any) -> list[str]:
    value = maybe_json(value) if isinstance(value, str) and value.startswith("[") else value
    if isinstance(value, list | tuple):
        items = value
    elif isinstance(value, str):
        items = value.split(",") if "," in value else [value]
    else:
        return []
    return sorted({str(t).strip() for t in items if str(t).strip()})


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (JSON-quoted or not; 'Z' allowed) as an aware datetime, else None."""
    value = maybe_json(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _metadata_arrays(metadata: dict[str, Any]) -> tuple[list[str], list[str]]:
    names = list(metadata)
    return names, [_json_or_str(metadata[n]) or "" for n in names]


# Experiment attributes holding JSON (the SDK serialises them); the others are text kept as sent, so an
# id or run name that looks like a number ("2024") stays a string.
_EXPERIMENT_JSON = frozenset({"metadata", "item.metadata", "item.expected_output"})
_EXPERIMENT_TEXT = ("id", "name", "item.root_observation_id")


def experiment_attributes(attrs: Attributes) -> dict[str, Any]:
    """The `langfuse.experiment.*` attributes by their short name; JSON-valued ones decoded."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key.startswith("langfuse.experiment."):
            name = key.removeprefix("langfuse.experiment.")
            out[name] = maybe_json(value) if name in _EXPERIMENT_JSON else value
    return out


def experiment_problem(experiment: dict[str, Any]) -> str | None:
    """Why these experiment attributes cannot mark an item run, else None (the span is stored anyway)."""
    for name in _EXPERIMENT_TEXT:
        value = experiment.get(name)
        if not isinstance(value, str) or not value:
            return f"langfuse.experiment.{name} must be a non-empty string"
    for name in ("metadata", "item.metadata"):
        value = experiment.get(name)
        if value is not None and not isinstance(value, dict):
            return f"langfuse.experiment.{name} must be a JSON object"
    version = experiment.get("item.version")
    if version is not None and parse_time(version) is None:
        return "langfuse.experiment.item.version must be an ISO 8601 time"
    return None


def map_span(
    project_id: str, span: Span, sdk_version: str | None, event_ts: datetime
) -> tuple[ObservationRow, TraceRow | None]:
    """One span → its observation row, and a trace row when the span is a root or carries trace data."""
    a, r = span.attributes, span.resource
    from_langfuse = span.scope_name == "langfuse-sdk"
    decode = _sdk_major(span, sdk_version) >= 5
    obs_type = observation_type(a)
    level_attr = a.get(OBS_PREFIX + "level")
    # Other values were refused with the span (span.span_problem).
    level = str(level_attr).upper() if level_attr else ("ERROR" if span.status_code == 2 else "DEFAULT")
    raw_in, raw_out = input_output(span)
    metadata = _decoded_metadata(a, OBS_PREFIX, decode)
    experiment = experiment_attributes(a)
    if experiment:  # kept for dataset runs and experiments (evaluation; migration 0009 reads it)
        metadata["experiment"] = experiment
        problem = experiment_problem(experiment)
        if problem is not None:
            log.warning("span %s/%s: experiment attributes ignored: %s", span.trace_id, span.span_id, problem)
    if not from_langfuse:
        rest = {k: v for k, v in a.items() if not k.startswith(("langfuse.", "input.value", "output.value"))}
        if rest:
            metadata["attributes"] = rest
        if r:
            metadata["resourceAttributes"] = r
        metadata["scope"] = {"name": span.scope_name, "version": span.scope_version}
    other_events = [
        e for e in span.events if not (e.name.startswith("gen_ai.") and e.name != "gen_ai.evaluation.result")
    ]
    if other_events:  # exceptions, logs: kept; gen_ai message events became input/output above
        metadata.setdefault(
            "events",
            [{"name": e.name, "time_unix_nano": e.time_ns, "attributes": e.attributes} for e in other_events],
        )
    end_ns = span.end_ns
    if end_ns < span.start_ns:
        end_ns = span.start_ns
        metadata[NOTE_KEY] = (
            f"endTime {ns_to_datetime(span.end_ns).isoformat()} was before startTime; stored as startTime"
        )
    model = first_value(a, *_MODEL_KEYS)
    params = maybe_json(a.get(OBS_PREFIX + "model.parameters"))
    if params is None:
        params = maybe_json(a.get("llm.invocation_parameters"))
    if params is None:
        params = {
            k.removeprefix("gen_ai.request."): v
            for k, v in a.items()
            if k.startswith("gen_ai.request.") and k != "gen_ai.request.model"
        } or None
    prompt_name = a.get(OBS_PREFIX + "prompt.name") if obs_type == "GENERATION" else None
    prompt_version = _non_negative_int(a.get(OBS_PREFIX + "prompt.version")) if prompt_name else None
    is_root = span.parent_span_id is None or _bool(a.get("langfuse.internal.as_root"))
    # The app root (first span of this app in a trace that started upstream) speaks for the trace.
    speaks_for_trace = is_root or _bool(a.get("langfuse.internal.is_app_root"))
    environment = normalize_environment(
        first_value(a, "langfuse.environment", "deployment.environment.name", "deployment.environment")
        or first_value(r, "langfuse.environment", "deployment.environment.name", "deployment.environment")
    )
    release = first_value(a, "langfuse.release") or first_value(r, "langfuse.release")
    version = first_value(a, "langfuse.version") or first_value(r, "service.version")
    user_id = first_value(a, "langfuse.user.id", "user.id")
    session_id = first_value(a, "langfuse.session.id", "session.id", "gen_ai.conversation.id")
    tags = _tags(a.get(TRACE_PREFIX + "tags"))
    public = _bool(a.get(TRACE_PREFIX + "public"))
    trace_name = first_value(a, TRACE_PREFIX + "name") or (span.name if speaks_for_trace else None)
    usage, usage_notes = usage_details_noted(a)
    costs, cost_notes = cost_details_noted(a)
    if usage_notes or cost_notes:
        metadata[DROPPED] = {**usage_notes, **cost_notes}
    names, values = _metadata_arrays(metadata)
    row = ObservationRow(
        project_id=project_id,
        id=span.span_id,
        trace_id=span.trace_id,
        parent_observation_id=None if is_root else span.parent_span_id,
        type=obs_type,
        name=str(first_value(a, "gen_ai.tool.name") or span.name),
        start_time=ns_to_datetime(span.start_ns),
        end_time=ns_to_datetime(end_ns),
        completion_start_time=parse_time(a.get(OBS_PREFIX + "completion_start_time")),
        level=level,
        status_message=first_value(a, OBS_PREFIX + "status_message") or span.status_message or None,
        version=None if version is None else str(version),
        environment=environment,
        release=None if release is None else str(release),
        trace_name=None if trace_name is None else str(trace_name),
        user_id=None if user_id is None else str(user_id),
        session_id=None if session_id is None else str(session_id),
        tags=tags,
        public=public,
        input=_json_or_str(raw_in),
        output=_json_or_str(raw_out),
        metadata_names=names,
        metadata_values=values,
        provided_model_name=None if model is None else str(model),
        model_parameters=_json_or_str(params),
        usage_details=usage,
        cost_details=costs,
        total_cost=costs.get("total", sum(costs.values(), Decimal(0))) if costs else None,
        prompt_name=None if prompt_name is None else str(prompt_name),
        prompt_version=prompt_version,
        event_ts=event_ts,
    )
    trace_meta = _decoded_metadata(a, TRACE_PREFIX, decode)
    trace_io = (a.get(TRACE_PREFIX + "input"), a.get(TRACE_PREFIX + "output"))
    trace = None
    carries_trace = user_id is not None or session_id is not None or tags or public or trace_name is not None
    if speaks_for_trace or carries_trace or trace_meta or any(v is not None for v in trace_io):
        t_names, t_values = _metadata_arrays(trace_meta)
        trace = TraceRow(
            project_id=project_id,
            id=span.trace_id,
            timestamp=row.start_time,
            name=row.trace_name,
            user_id=row.user_id,
            session_id=row.session_id,
            release=row.release,
            version=row.version,
            environment=environment,
            tags=tags,
            public=public,
            input=_json_or_str(trace_io[0])
            if trace_io[0] is not None
            else (row.input if speaks_for_trace else None),
            output=_json_or_str(trace_io[1])
            if trace_io[1] is not None
            else (row.output if speaks_for_trace else None),
            metadata_names=t_names,
            metadata_values=t_values,
            event_ts=event_ts,
        )
    return row, trace
