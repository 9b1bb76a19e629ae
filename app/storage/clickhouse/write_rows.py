"""Row values for the observability tables: the column registry for inserts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal

import orjson


@dataclass(slots=True)
class ObservationRow:
    """One observation, trace attributes denormalised onto it (table `observations`)."""

    project_id: str
    id: str
    trace_id: str
    parent_observation_id: str | None
    type: str
    name: str
    start_time: datetime
    end_time: datetime | None = None
    completion_start_time: datetime | None = None
    level: str = "DEFAULT"
    status_message: str | None = None
    version: str | None = None
    environment: str = "default"
    release: str | None = None
    trace_name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] = field(default_factory=list)
    public: bool = False
    input: str | None = None
    output: str | None = None
    metadata_names: list[str] = field(default_factory=list)
    metadata_values: list[str] = field(default_factory=list)
    provided_model_name: str | None = None
    internal_model_id: str | None = None
    model_parameters: str | None = None
    usage_details: dict[str, int] = field(default_factory=dict)
    cost_details: dict[str, Decimal] = field(default_factory=dict)
    total_cost: Decimal | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    event_ts: datetime | None = None
    sign: int = 1
    row_version: int = 1


@dataclass(slots=True)
class TraceRow:
    """Trace-level facts that do not live on an observation (table `traces`)."""

    project_id: str
    id: str
    timestamp: datetime
    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    release: str | None = None
    version: str | None = None
    environment: str = "default"
    tags: list[str] = field(default_factory=list)
    public: bool = False
    bookmarked: bool = False
    input: str | None = None
    output: str | None = None
    metadata_names: list[str] = field(default_factory=list)
    metadata_values: list[str] = field(default_factory=list)
    event_ts: datetime | None = None
    is_deleted: int = 0


@dataclass(slots=True)
class ScoreRow:
    """One score (table `scores`)."""

    project_id: str
    id: str
    timestamp: datetime
    name: str
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_run_id: str | None = None
    value: float | None = None
    string_value: str | None = None
    data_type: str = "NUMERIC"
    source: str = "API"
    comment: str | None = None
    metadata_names: list[str] = field(default_factory=list)
    metadata_values: list[str] = field(default_factory=list)
    config_id: str | None = None
    queue_id: str | None = None
    author_user_id: str | None = None
    environment: str = "default"
    event_ts: datetime | None = None
    is_deleted: int = 0


OBSERVATION_COLUMNS = [f.name for f in fields(ObservationRow)]
TRACE_COLUMNS = [f.name for f in fields(TraceRow)]
SCORE_COLUMNS = [f.name for f in fields(ScoreRow)]
_COLUMNS: dict[type, list[str]] = {
    ObservationRow: OBSERVATION_COLUMNS,
    TraceRow: TRACE_COLUMNS,
    ScoreRow: SCORE_COLUMNS,
}


def as_values(row: ObservationRow | TraceRow | ScoreRow) -> tuple[object, ...]:
    """The row as a tuple in column order (cheap to pickle between processes and to insert)."""
    return tuple(getattr(row, c) for c in _COLUMNS[type(row)])


def as_json_line(row: ObservationRow | TraceRow | ScoreRow) -> bytes:
    """The row as one JSONEachRow line (ISO times, decimals as strings; ClickHouse parses both). orjson
    encodes the dataclass itself, fields in column order."""
    return orjson.dumps(row, default=str)
