"""The values LLM-as-a-judge passes between rules, inputs and runs: what is judged and how variables map."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

TargetKind = Literal["observation", "trace", "session"]
MappingSource = Literal[
    "input", "output", "metadata", "tool_calls", "expected_output", "experiment_item_metadata"
]
MAPPING_SOURCES: tuple[MappingSource, ...] = (
    "input",
    "output",
    "metadata",
    "tool_calls",
    "expected_output",
    "experiment_item_metadata",
)
JUDGE_ENVIRONMENT = "langhouse-llm-as-a-judge"  # the judges' own traces: never judged themselves


@dataclass(frozen=True, slots=True)
class JudgeTarget:
    """What one execution judges: an observation (trace_id + observation_id), a whole trace, or a session.

    `dataset_item_id` is set for experiment items (their expected output and metadata are then mappable)."""

    kind: TargetKind
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_item_id: str | None = None
    time: datetime | None = None  # the target's start time when known (bounds the observation's lookup)


@dataclass(frozen=True, slots=True)
class VariableMap:
    """One prompt variable filled from a source of the target, narrowed by an optional JSON path."""

    variable: str
    source: MappingSource
    json_path: str | None = None


def variable_maps(raw: object) -> list[VariableMap]:
    """Read a stored mapping list [{variable, source, jsonPath?}]; unknown entries skipped."""
    out: list[VariableMap] = []
    if not isinstance(raw, list):
        return out
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        variable, source = entry.get("variable"), entry.get("source")
        path = entry.get("jsonPath", entry.get("json_path"))
        if isinstance(variable, str) and source in MAPPING_SOURCES:
            out.append(VariableMap(variable, source, path if isinstance(path, str) and path else None))
    return out
