"""A project's evaluation settings: the default judge model (a connection and a model name), a daily
judge-cost cap, and whether code evaluators may be created and run."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.errors import InvalidInput
from app.storage import Storage
from app.storage.postgres import evaluators as repo
from app.storage.postgres import llm_connections
from app.storage.postgres.eval_tables import EvaluationSettings

MAX_MODEL_CHARS = 200


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """The complete new settings of a project (every field replaced)."""

    default_connection_id: str | None
    default_model: str | None
    daily_cost_cap_usd: float | None
    code_evaluators_enabled: bool


@dataclass(frozen=True, slots=True)
class DefaultModel:
    """The project's default judge model: its connection (id and name) and the model name."""

    connection_id: str
    connection_name: str
    model: str


async def get_settings(storage: Storage, project_id: str) -> EvaluationSettings:
    """The project's settings; defaults (no model, no cap, code evaluators off) when never saved."""
    row = await repo.fetch_settings(storage.postgres, project_id)
    return row if row is not None else EvaluationSettings(project_id=project_id)


async def save_settings(storage: Storage, project_id: str, change: SettingsChange) -> EvaluationSettings:
    """Validate and store the settings; InvalidInput names the field at fault."""
    connection_id = (change.default_connection_id or "").strip() or None
    model = (change.default_model or "").strip() or None
    if connection_id is not None:
        found = await llm_connections.fetch_connection(storage.postgres, project_id, connection_id)
        if found is None:
            raise InvalidInput("defaultConnectionId: no such LLM connection in this project")
        if model is None:
            raise InvalidInput("defaultModel: required with a default connection")
    elif model is not None:
        raise InvalidInput("defaultConnectionId: required with a default model")
    if model is not None and len(model) > MAX_MODEL_CHARS:
        raise InvalidInput(f"defaultModel: at most {MAX_MODEL_CHARS} characters")
    cap = change.daily_cost_cap_usd
    if cap is not None and (isinstance(cap, bool) or not math.isfinite(cap) or cap < 0):
        raise InvalidInput("dailyCostCapUsd: a number of US dollars, 0 or more (empty for no cap)")
    row = EvaluationSettings(
        project_id=project_id,
        default_connection_id=connection_id,
        default_model=model,
        daily_cost_cap_usd=cap,
        code_evaluators_enabled=bool(change.code_evaluators_enabled),
    )
    return await repo.save_settings(storage.postgres, row)


async def default_model(storage: Storage, project_id: str) -> DefaultModel | None:
    """The project's default judge model, or None when unset (or its connection is gone)."""
    settings = await get_settings(storage, project_id)
    if settings.default_connection_id is None or not settings.default_model:
        return None
    found = await llm_connections.fetch_connection(
        storage.postgres, project_id, settings.default_connection_id
    )
    if found is None:
        return None
    return DefaultModel(found.id, found.name, settings.default_model)
