"""Score configs: validation, the public API shape, and checking a score against its config."""

from __future__ import annotations

import math
from typing import Any

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import score_configs as repo
from app.storage.postgres.tables import ScoreConfig
from app.tracing.scores import data_type_of

CONFIG_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT")


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number")
    return float(value)


def _categories(value: Any) -> list[dict[str, object]]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("categories are required for dataType CATEGORICAL: [{value, label}, ...]")
    out: list[dict[str, object]] = []
    for i, c in enumerate(value):
        if (
            not isinstance(c, dict)
            or not isinstance(c.get("label"), str)
            or _number(c.get("value"), f"categories[{i}].value") is None
        ):
            raise InvalidInput(f"categories[{i}] must be {{value: number, label: string}}")
        out.append({"value": float(c["value"]), "label": c["label"]})
    if len({c["label"] for c in out}) != len(out) or len({c["value"] for c in out}) != len(out):
        raise InvalidInput("categories must have unique labels and values")
    return out


def validate(body: Any) -> ScoreConfig:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInput("name is required (1 to 255 characters)")
    kind = body.get("dataType")
    if kind not in CONFIG_TYPES:
        raise InvalidInput(f"dataType must be one of {', '.join(CONFIG_TYPES)}")
    low, high = _number(body.get("minValue"), "minValue"), _number(body.get("maxValue"), "maxValue")
    if low is not None and high is not None and low > high:
        raise InvalidInput("minValue must not be greater than maxValue")
    if kind != "NUMERIC" and (low is not None or high is not None):
        raise InvalidInput("minValue and maxValue apply to dataType NUMERIC only")
    categories = _categories(body.get("categories")) if kind == "CATEGORICAL" else None
    if kind == "BOOLEAN":
        categories = [{"value": 1.0, "label": "True"}, {"value": 0.0, "label": "False"}]
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description must be a string")
    return ScoreConfig(
        project_id="",
        name=name.strip(),
        data_type=kind,
        categories=categories,
        min_value=low,
        max_value=high,
        description=description,
    )


def to_api(config: ScoreConfig) -> dict[str, Any]:
    return {
        "id": config.id,
        "projectId": config.project_id,
        "name": config.name,
        "dataType": config.data_type,
        "categories": config.categories,
        "minValue": config.min_value,
        "maxValue": config.max_value,
        "description": config.description,
        "isArchived": config.is_archived,
        "createdAt": config.created_at.isoformat(),
        "updatedAt": config.updated_at.isoformat(),
    }


async def create(storage: Storage, project_id: str, body: Any) -> ScoreConfig:
    config = validate(body)
    config.project_id = project_id
    return await repo.create_score_config(storage.postgres, config)


async def update(storage: Storage, project_id: str, config_id: str, body: Any) -> ScoreConfig:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    changes: dict[str, object] = {}
    if "isArchived" in body:
        if not isinstance(body["isArchived"], bool):
            raise InvalidInput("isArchived must be true or false")
        changes["is_archived"] = body["isArchived"]
    if "description" in body:
        changes["description"] = body["description"]
    unknown = set(body) - {"isArchived", "description"}
    if unknown:
        raise InvalidInput(f"only isArchived and description can change; not {', '.join(sorted(unknown))}")
    config = await repo.update_score_config(storage.postgres, project_id, config_id, changes)
    if config is None:
        raise NotFound(f"no score config {config_id!r}")
    return config


def problem_with_config(score: dict[str, Any], config: ScoreConfig | None) -> str | None:
    """Why a score breaks its config (type, range, category, archived), or None."""
    if config is None:
        return f"configId {score.get('configId')!r} does not exist in this project"
    if config.is_archived:
        return f"score config {config.name!r} is archived"
    kind = str(score["dataType"]).upper() if score.get("dataType") else config.data_type
    if kind != config.data_type:
        return f"dataType {kind} does not match the config's {config.data_type}"
    if score.get("name") != config.name:
        return f"name must be {config.name!r} (the config's name)"
    value = score.get("value")
    if config.data_type == "NUMERIC" and isinstance(value, int | float):
        if config.min_value is not None and value < config.min_value:
            return f"value {value} is below the config's minValue {config.min_value}"
        if config.max_value is not None and value > config.max_value:
            return f"value {value} is above the config's maxValue {config.max_value}"
    if config.data_type == "CATEGORICAL":
        labels = [str(c["label"]) for c in config.categories or []]
        if str(value) not in labels:
            return f"value {value!r} is not one of the config's categories: {', '.join(labels)}"
    if config.data_type != data_type_of({**score, "dataType": kind}):
        return "dataType does not match the config"
    return None


async def check_scores(storage: Storage, project_id: str, scores: list[dict[str, Any]]) -> list[str | None]:
    """For each score body, why it breaks its config (if it names one)."""
    ids = sorted({str(s["configId"]) for s in scores if s.get("configId")})
    configs = await repo.fetch_score_configs(storage.postgres, project_id, ids)
    return [
        problem_with_config(s, configs.get(str(s["configId"]))) if s.get("configId") else None for s in scores
    ]
