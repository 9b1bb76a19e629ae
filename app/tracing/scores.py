"""Scores: the rules a score obeys (alone and against its config), conversion to rows, writes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.clickhouse.write_rows import ScoreRow
from app.storage.clickhouse.writes import fetch_score, insert_scores
from app.storage.postgres.tables import ScoreConfig
from app.tracing.mapping import normalize_environment
from app.tracing.numbers import is_finite_number
from app.tracing.score_configs import fetch_configs

DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION")
SOURCES = ("API", "EVAL", "ANNOTATION")
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class NewScore:
    """A score to store. `data_type` None is inferred from the value (a string CATEGORICAL, else
    NUMERIC); `id` None gets a new one; `timestamp` None is when it is stored."""

    name: str
    value: float | str | bool | None
    data_type: str | None = None
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_run_id: str | None = None
    comment: str | None = None
    config_id: str | None = None
    queue_id: str | None = None
    author_user_id: str | None = None  # the user who gave it (annotations in the UI)
    environment: str | None = None
    source: str = "API"
    id: str | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def data_type_of(score: NewScore) -> str:
    """The declared data type (upper case), else the one the value implies."""
    if score.data_type is not None:
        return score.data_type.upper()
    return "CATEGORICAL" if isinstance(score.value, str) else "NUMERIC"


def score_problem(score: NewScore) -> str | None:
    """Why a score breaks the rules (what it scores, its value for its data type, its source), or None."""
    if not score.name.strip():
        return "name is required"
    if not (score.trace_id or score.session_id or score.observation_id or score.dataset_run_id):
        return "one of traceId, sessionId, datasetRunId is required"
    if score.observation_id and not score.trace_id:
        return "observationId needs traceId"
    kind = data_type_of(score)
    if kind not in DATA_TYPES:
        return f"dataType must be one of {', '.join(DATA_TYPES)}"
    value = score.value
    if value is None:
        return "value is required"
    if kind == "NUMERIC" and not is_finite_number(value):
        return "value must be a finite number for dataType NUMERIC"
    if isinstance(value, int | float) and not isinstance(value, bool) and not is_finite_number(value):
        return f"value must be a finite number (a Float64) for dataType {kind}"
    if kind == "BOOLEAN" and value not in (0, 1):
        return "value must be 0 or 1 for dataType BOOLEAN"
    if kind == "TEXT" and not 1 <= len(str(value)) <= MAX_TEXT:
        return f"value must be 1 to {MAX_TEXT} characters for dataType TEXT"
    if score.source not in SOURCES:
        return f"source must be one of {', '.join(SOURCES)}"
    return None


def config_problem(score: NewScore, config: ScoreConfig | None) -> str | None:
    """Why a score breaks its config (missing, archived, type, name, range, category), or None."""
    if config is None:
        return f"configId {score.config_id!r} does not exist in this project"
    if config.is_archived:
        return f"score config {config.name!r} is archived"
    kind = score.data_type.upper() if score.data_type else config.data_type
    if kind != config.data_type:
        return f"dataType {kind} does not match the config's {config.data_type}"
    if score.name != config.name:
        return f"name must be {config.name!r} (the config's name)"
    value = score.value
    if config.data_type == "NUMERIC" and isinstance(value, int | float):
        if config.min_value is not None and value < config.min_value:
            return f"value {value} is below the config's minValue {config.min_value}"
        if config.max_value is not None and value > config.max_value:
            return f"value {value} is above the config's maxValue {config.max_value}"
    if config.data_type == "CATEGORICAL":
        labels = [str(c["label"]) for c in config.categories or []]
        if str(value) not in labels:
            return f"value {value!r} is not one of the config's categories: {', '.join(labels)}"
    return None


async def check_scores(storage: Storage, project_id: str, scores: list[NewScore]) -> list[str | None]:
    """For each score, why it would be refused (its rules, then the config it names), or None."""
    ids = sorted({s.config_id for s in scores if s.config_id})
    configs = await fetch_configs(storage, project_id, ids)
    return [
        score_problem(s) or (config_problem(s, configs.get(s.config_id)) if s.config_id else None)
        for s in scores
    ]


def build_row(project_id: str, score: NewScore, now: datetime) -> ScoreRow:
    """A valid score as a row written at `now`; string values keep their text, numbers their value."""
    value = score.value
    return ScoreRow(
        project_id=project_id,
        id=score.id or str(uuid.uuid4()),
        timestamp=score.timestamp or now,
        name=score.name.strip(),
        trace_id=score.trace_id,
        observation_id=score.observation_id,
        session_id=score.session_id,
        dataset_run_id=score.dataset_run_id,
        value=None if isinstance(value, str) or value is None else float(value),
        string_value=value if isinstance(value, str) else None,
        data_type=data_type_of(score),
        source=score.source,
        comment=score.comment,
        metadata_names=list(score.metadata),
        metadata_values=[v if isinstance(v, str) else json.dumps(v) for v in score.metadata.values()],
        config_id=score.config_id,
        queue_id=score.queue_id,
        author_user_id=score.author_user_id,
        environment=normalize_environment(score.environment or "default"),
        event_ts=now,
    )


async def delete_score(storage: Storage, project_id: str, score_id: str) -> None:
    """Write the score again marked deleted (same sort key, newer event time); NotFound if unknown."""
    row = await fetch_score(storage.clickhouse, project_id, score_id)
    if row is None or row.is_deleted:
        raise NotFound(f"no score {score_id!r}")
    await insert_scores(storage.clickhouse, [replace(row, is_deleted=1, event_ts=datetime.now(UTC))])


async def create_score(storage: Storage, project_id: str, score: NewScore) -> ScoreRow:
    """Check a score (its rules, then its config) and store it now; InvalidInput names the problem."""
    problem = (await check_scores(storage, project_id, [score]))[0]
    if problem:
        raise InvalidInput(problem)
    row = build_row(project_id, score, datetime.now(UTC))
    await insert_scores(storage.clickhouse, [row])
    return row


async def create_scores(storage: Storage, project_id: str, new: list[NewScore]) -> list[ScoreRow]:
    """Check every score (its rules, then its config) and store them all in one insert, or none:
    InvalidInput names the first score refused and why."""
    for score, problem in zip(new, await check_scores(storage, project_id, new), strict=True):
        if problem:
            raise InvalidInput(f"{score.name}: {problem}")
    now = datetime.now(UTC)
    rows = [build_row(project_id, score, now) for score in new]
    if rows:
        await insert_scores(storage.clickhouse, rows)
    return rows
