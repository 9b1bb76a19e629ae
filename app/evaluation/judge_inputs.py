"""What a judge reads: the mapped variables of its target. An observation gives its input, output,
metadata, tool calls and (experiment items) the expected output; a trace its tree rendered compactly;
a session its turns as a conversation. Every read is scoped to the project."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from app.errors import NotFound
from app.evaluation.datasets import fetch_item
from app.evaluation.judge_types import JudgeTarget, VariableMap
from app.storage import Storage
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.observations import fetch_observation
from app.storage.clickhouse.queries.views import ObservationView, json_or_text
from app.tracing import trace_service
from app.tracing.chat import chat_messages

MAX_VALUE_CHARS = 30_000  # one variable
MAX_NODE_CHARS = 400  # one observation's input or output in a rendered tree
MAX_TURNS = 100
# One step of a JSONPath: `..` (any depth) or `.`, then a name or `*`; or `[n]`, `[*]`, `['k']`, `["k"]`.
_PATH_PART = re.compile(r"""(\.\.|\.)?(?:([^.\[\]]+)|\[(?:(-?\d+)|(\*)|'([^']*)'|"([^"]*)")\])""")
SOURCE_NAMES = ("input", "output", "metadata", "tool_calls", "expected_output", "experiment_item_metadata")
CONVERSATION_VARIABLES = ("trace", "conversation", "session", "context")


@dataclass(frozen=True, slots=True)
class TargetValues:
    """The sources of one target, decoded: what mappings and unmapped variables read."""

    input: Any = None
    output: Any = None
    metadata: Any = None
    tool_calls: Any = None
    expected_output: Any = None
    experiment_item_metadata: Any = None
    rendered: str | None = None  # a trace's tree or a session's conversation
    environment: str | None = None


def _decoded(value: Any) -> Any:
    return json_or_text(value) if isinstance(value, str) else value


def _children(value: Any) -> list[Any]:
    value = _decoded(value)
    return list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, list) else []


def _descendants(value: Any) -> list[Any]:
    """The value and everything inside it, depth first."""
    out, stack = [], [value]
    while stack:
        node = _decoded(stack.pop())
        out.append(node)
        stack.extend(reversed(_children(node)))
    return out


def _step(value: Any, key: str | None, index: int | None) -> list[Any]:
    value = _decoded(value)
    if key == "*" or (key is None and index is None):
        return _children(value)
    if index is not None and isinstance(value, list) and -len(value) <= index < len(value):
        return [value[index]]
    if key is not None and isinstance(value, dict) and key in value:
        return [value[key]]
    return []


def select(value: Any, path: str | None) -> Any:
    """The part of `value` at a JSON path ($.a.b[0], a.b, $['a'], $.a[-1]); with `*` or `..` (any depth)
    the list of the matches when there are several. JSON text met on the way is read as JSON. None
    where it leads nowhere."""
    if not path:
        return value
    nodes, many = [value], False
    for dots, name, index, star, single, double in _PATH_PART.findall(path.strip().removeprefix("$")):
        key = name or single or double or None
        many = many or bool(star) or key == "*" or dots == ".."
        if dots == "..":
            nodes = [d for n in nodes for d in _descendants(n)]
        nodes = [m for n in nodes for m in _step(n, key, int(index) if index else None)]
    if many and len(nodes) > 1:
        return [_decoded(n) for n in nodes]
    return _decoded(nodes[0]) if nodes else None


def as_text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as the judge reads it: strings as they are, anything else as JSON; cut at `limit`."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else f"{text[:limit]}… [cut, {len(text)} characters]"


def _tool_calls(*values: str | None) -> list[dict[str, Any]]:
    """The tool calls the model made in these chat values (name, arguments, id), in order."""
    return [
        {"name": c.name, "arguments": json_or_text(c.arguments), "id": c.call_id}
        for value in values
        for m in chat_messages(value) or []
        for c in m.tool_calls
    ]


def _item_field(experiment: Any, name: str) -> Any:
    """An experiment item attribute: ingestion keeps them flat (`item.expected_output`), else nested."""
    if not isinstance(experiment, dict):
        return None
    if f"item.{name}" in experiment:
        return (
            json_or_text(experiment[f"item.{name}"])
            if isinstance(experiment[f"item.{name}"], str)
            else experiment[f"item.{name}"]
        )
    item = experiment.get("item")
    return item.get(name) if isinstance(item, dict) else None


async def _observation_values(
    storage: Storage, project_id: str, target: JudgeTarget, observation: Any = None
) -> TargetValues:
    o = observation or await fetch_observation(
        storage.clickhouse, project_id, target.observation_id or "", target.trace_id, target.time
    )
    if o is None or (target.trace_id and o.trace_id != target.trace_id):
        raise NotFound(f"observation {target.observation_id!r} not found")
    experiment = o.metadata.get("experiment")
    expected, item_metadata = _item_field(experiment, "expected_output"), _item_field(experiment, "metadata")
    if target.dataset_item_id and expected is None:
        stored = await fetch_item(storage, project_id, target.dataset_item_id)
        if stored is not None:
            expected, item_metadata = stored.expected_output, item_metadata or stored.metadata
    return TargetValues(
        json_or_text(o.input),
        json_or_text(o.output),
        o.metadata,
        _tool_calls(o.output),
        expected,
        item_metadata,
        environment=o.environment,
    )


def render_tree(observations: list[ObservationView]) -> str:
    """A trace's observations, one line each, indented by depth: type, name, trimmed input → output."""
    lines: list[str] = []
    stack = list(reversed(trace_service.observation_tree(observations)))
    while stack:
        node = stack.pop()
        o = node.observation
        given, made = (as_text(json_or_text(v), MAX_NODE_CHARS) for v in (o.input, o.output))
        io = f"input: {given} | output: {made}"
        level = f" [{o.level}: {o.status_message or ''}]" if o.level in ("ERROR", "WARNING") else ""
        lines.append(f"{'  ' * node.depth}- {o.type} {o.name}{level} | {io}")
        stack.extend(reversed(node.children))
    return "\n".join(lines)


async def _trace_values(storage: Storage, project_id: str, target: JudgeTarget) -> TargetValues:
    trace = await trace_service.fetch_trace(storage, project_id, target.trace_id or "")
    if trace is None:
        raise NotFound(f"trace {target.trace_id!r} not found")
    observations = await tq.fetch_trace_observations(storage.clickhouse, project_id, trace.id)
    tree = render_tree(observations)
    return TargetValues(
        json_or_text(trace.input) if trace.input is not None else tree,
        json_or_text(trace.output),
        trace.metadata,
        _tool_calls(*(o.output for o in observations)),
        rendered=f"Trace {trace.name or trace.id}\n{tree}",
        environment=trace.environment,
    )


def _turn_text(value: str | None) -> str:
    decoded = json_or_text(value)
    if isinstance(decoded, list) and decoded and isinstance(decoded[-1], dict) and "content" in decoded[-1]:
        decoded = decoded[-1]["content"]  # a chat history: this turn's newest message
    if isinstance(decoded, dict) and len(decoded) == 1:
        decoded = next(iter(decoded.values()))
    return as_text(decoded, 4000)


async def _session_values(storage: Storage, project_id: str, target: JudgeTarget) -> TargetValues:
    _, turns = await trace_service.session_turns(storage, project_id, target.session_id or "", MAX_TURNS)
    lines = []
    for turn in turns:
        lines.append(f"User: {_turn_text(turn.input)}")
        lines.append(f"Assistant: {_turn_text(turn.output)}")
    conversation = "\n".join(lines)
    last = turns[-1] if turns else None
    return TargetValues(
        conversation,
        json_or_text(last.output) if last else None,
        last.metadata if last else None,
        rendered=conversation,
        environment=last.environment if last else None,
    )


async def target_values(
    storage: Storage, project_id: str, target: JudgeTarget, observation: Any = None
) -> TargetValues:
    """Read the target's sources; NotFound when it is not (or no longer) in the project. An observation
    target's row read just before (the rule's re-check) is reused."""
    if target.kind == "observation":
        return await _observation_values(storage, project_id, target, observation)
    if target.kind == "trace":
        return await _trace_values(storage, project_id, target)
    return await _session_values(storage, project_id, target)


def fill_variables(values: TargetValues, mapping: list[VariableMap], variables: list[str]) -> dict[str, str]:
    """Each variable's text: its mapping, else the source of the same name, else the rendered target."""
    by_variable = {m.variable: m for m in mapping}
    out: dict[str, str] = {}
    for name in variables:
        m = by_variable.get(name)
        if m is not None:
            out[name] = as_text(select(getattr(values, m.source), m.json_path))
        elif name in SOURCE_NAMES:
            out[name] = as_text(getattr(values, name))
        elif name in CONVERSATION_VARIABLES and values.rendered is not None:
            out[name] = as_text(values.rendered)
        else:
            out[name] = ""
    return out


async def resolve_variables(
    storage: Storage, project_id: str, target: JudgeTarget, mapping: list[VariableMap], variables: list[str]
) -> dict[str, str]:
    """The text of each prompt variable for this target (unmappable ones empty); NotFound if it is gone."""
    return fill_variables(await target_values(storage, project_id, target), mapping, variables)
