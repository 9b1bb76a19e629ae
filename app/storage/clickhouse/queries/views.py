"""Result rows of the read queries, and the conversions every entity module shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.storage import json_text


def utc(value: Any) -> datetime:
    """A ClickHouse DateTime64 as an aware UTC datetime."""
    out: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return out


def count_of(rows: list[dict[str, object]]) -> int:
    """The `total` of a count query's single row."""
    return int(str(rows[0]["total"]))


def utc_or_none(value: Any) -> datetime | None:
    return None if value is None else utc(value)


def metadata(names: list[str], values: list[str]) -> dict[str, Any]:
    """Metadata arrays as a dict; values that were JSON objects or arrays come back parsed."""
    out: dict[str, Any] = {}
    for name, value in zip(names, values, strict=False):
        out[name] = _maybe_json(value)
    return out


def json_or_text(text: str | None) -> Any:
    """Stored input, output or parameters: parsed when the text is JSON, else the text itself."""
    if text is None:
        return None
    try:
        return json_text.loads(text)
    except ValueError:
        return text


def _maybe_json(value: str) -> Any:
    if value[:1] in ("{", "[") or value in ("true", "false", "null"):
        try:
            return json_text.loads(value)
        except ValueError:
            return value
    return value


def int_map(value: Any, *, summed: bool = True) -> dict[str, int]:
    """A usage map; a summed one without the zero entries sign-weighting leaves behind."""
    return {str(k): int(v) for k, v in (value or {}).items() if v or not summed}


def decimal_map(value: Any, *, summed: bool = True) -> dict[str, Decimal]:
    return {str(k): Decimal(v) for k, v in (value or {}).items() if v or not summed}


@dataclass(slots=True)
class ObservationView:
    """One observation's current state, as read."""

    id: str
    trace_id: str
    parent_observation_id: str | None
    type: str
    name: str
    start_time: datetime
    end_time: datetime | None
    completion_start_time: datetime | None
    level: str
    status_message: str | None
    version: str | None
    environment: str
    release: str | None
    trace_name: str | None
    user_id: str | None
    session_id: str | None
    tags: list[str]
    model: str | None
    internal_model_id: str | None
    model_parameters: str | None
    usage_details: dict[str, int]
    cost_details: dict[str, Decimal]
    total_cost: Decimal | None
    prompt_name: str | None
    prompt_version: int | None
    latency_ms: float | None
    input: str | None = None
    output: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """The usage's `total`, else the sum of its entries (as ROW_TOKENS reads it in SQL)."""
        return self.usage_details.get("total", sum(self.usage_details.values()))


@dataclass(slots=True)
class TraceTotals:
    """What a trace's observations add up to (sign-weighted: exact after updates and deletions)."""

    observation_count: int = 0
    latency_ms: float | None = None
    total_cost: Decimal = Decimal(0)
    cost_details: dict[str, Decimal] = field(default_factory=dict)
    usage_details: dict[str, int] = field(default_factory=dict)
    total_tokens: int = 0
    counts_by_type: dict[str, int] = field(default_factory=dict)
    counts_by_level: dict[str, int] = field(default_factory=dict)
    start_time: datetime | None = None
    end_time: datetime | None = None


@dataclass(slots=True)
class TraceView:
    """A trace: its folded trace-level updates and, for lists, its totals."""

    id: str
    timestamp: datetime
    name: str | None
    user_id: str | None
    session_id: str | None
    release: str | None
    version: str | None
    environment: str
    tags: list[str]
    public: bool
    totals: TraceTotals
    bookmarked: bool = False
    input: str | None = None
    output: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    observation_ids: list[str] | None = None  # when the list was asked for them


@dataclass(slots=True)
class ScoreView:
    id: str
    timestamp: datetime
    name: str
    value: float | None
    string_value: str | None
    data_type: str
    source: str
    comment: str | None
    trace_id: str | None
    observation_id: str | None
    session_id: str | None
    dataset_run_id: str | None
    config_id: str | None
    queue_id: str | None
    author_user_id: str | None
    environment: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The value as its type reads: True/False, the category or text, or the number."""
        return score_label(self.data_type, self.value, self.string_value)


def score_label(data_type: str, value: float | None, string_value: str | None) -> str:
    """A score value as its data type reads: BOOLEAN True/False, text types their string, else the number."""
    if data_type == "BOOLEAN" and value is not None:
        return "True" if value >= 0.5 else "False"
    if string_value is not None:
        return string_value
    return "" if value is None else f"{value:g}"
