"""Score configs: what a score of a given name may hold. Created, changed, listed and read here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import score_configs as repo
from app.storage.postgres.tables import ScoreConfig

CONFIG_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT")


@dataclass(frozen=True, slots=True)
class Category:
    """One allowed value of a CATEGORICAL config: a score holds its label."""

    value: float
    label: str


@dataclass(frozen=True, slots=True)
class ScoreConfigSpec:
    """A new score config. Bounds apply to NUMERIC only, categories to CATEGORICAL only (BOOLEAN gets
    True/False); categories given for other types are ignored."""

    name: str
    data_type: str
    categories: tuple[Category, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    description: str | None = None


class Unchanged(Enum):
    """A field a change leaves as it is."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class ScoreConfigChange:
    """What may change on a config: archived or not, and its description (None clears it)."""

    is_archived: bool | Unchanged = UNCHANGED
    description: str | Unchanged | None = UNCHANGED


def categories_from_json(raw: object) -> tuple[Category, ...]:
    """Categories from their JSON form `[{value: number, label: string}, ...]` (REST and GraphQL take
    it); anything but a list is none. InvalidInput names the malformed entry."""
    if not isinstance(raw, list):
        return ()
    out = []
    for i, c in enumerate(raw):
        value = c.get("value") if isinstance(c, dict) else None
        if value is None or not isinstance(c.get("label"), str):
            raise InvalidInput(f"categories[{i}] must be {{value: number, label: string}}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"categories[{i}].value must be a finite number")
        out.append(Category(_finite(value, f"categories[{i}].value"), c["label"]))
    return tuple(out)


def _finite(value: float, field: str) -> float:
    try:
        if math.isfinite(value):
            return float(value)
    except OverflowError:  # an int too large for a float
        pass
    raise InvalidInput(f"{field} must be a finite number")


def _bound(value: float | None, field: str) -> float | None:
    return None if value is None else _finite(value, field)


def _categories(spec: ScoreConfigSpec) -> list[dict[str, object]] | None:
    if spec.data_type == "BOOLEAN":
        return [{"value": 1.0, "label": "True"}, {"value": 0.0, "label": "False"}]
    if spec.data_type != "CATEGORICAL":
        return None
    if not spec.categories:
        raise InvalidInput("categories are required for dataType CATEGORICAL: [{value, label}, ...]")
    out: list[dict[str, object]] = [
        {"value": _finite(c.value, f"categories[{i}].value"), "label": c.label}
        for i, c in enumerate(spec.categories)
    ]
    if len({c["label"] for c in out}) != len(out) or len({c["value"] for c in out}) != len(out):
        raise InvalidInput("categories must have unique labels and values")
    return out


def _checked(spec: ScoreConfigSpec) -> ScoreConfig:
    """The spec as an unsaved row, or InvalidInput naming what breaks the rules."""
    if not spec.name.strip() or len(spec.name) > 255:
        raise InvalidInput("name is required (1 to 255 characters)")
    if spec.data_type not in CONFIG_TYPES:
        raise InvalidInput(f"dataType must be one of {', '.join(CONFIG_TYPES)}")
    low, high = _bound(spec.min_value, "minValue"), _bound(spec.max_value, "maxValue")
    if low is not None and high is not None and low > high:
        raise InvalidInput("minValue must not be greater than maxValue")
    if spec.data_type != "NUMERIC" and (low is not None or high is not None):
        raise InvalidInput("minValue and maxValue apply to dataType NUMERIC only")
    return ScoreConfig(
        project_id="",
        name=spec.name.strip(),
        data_type=spec.data_type,
        categories=_categories(spec),
        min_value=low,
        max_value=high,
        description=spec.description,
    )


async def create_config(storage: Storage, project_id: str, spec: ScoreConfigSpec) -> ScoreConfig:
    """Store a new config in the project; InvalidInput names what breaks the rules."""
    config = _checked(spec)
    config.project_id = project_id
    return await repo.create_score_config(storage.postgres, config)


async def update_config(
    storage: Storage, project_id: str, config_id: str, change: ScoreConfigChange
) -> ScoreConfig:
    """Archive, restore or describe a config; NotFound if the project has no such config."""
    changes: dict[str, object] = {}
    if not isinstance(change.is_archived, Unchanged):
        changes["is_archived"] = change.is_archived
    if not isinstance(change.description, Unchanged):
        changes["description"] = change.description
    config = await repo.update_score_config(storage.postgres, project_id, config_id, changes)
    if config is None:
        raise NotFound(f"no score config {config_id!r}")
    return config


async def list_configs(storage: Storage, project_id: str, limit: int, offset: int = 0) -> list[ScoreConfig]:
    """The project's configs, newest first (archived ones included)."""
    return await repo.list_score_configs(storage.postgres, project_id, limit, offset)


async def count_configs(storage: Storage, project_id: str) -> int:
    """How many configs the project has (archived ones included)."""
    return await repo.count_score_configs(storage.postgres, project_id)


async def get_config(storage: Storage, project_id: str, config_id: str) -> ScoreConfig:
    """One config of the project; NotFound if there is none with that id."""
    found = await fetch_configs(storage, project_id, [config_id])
    if config_id not in found:
        raise NotFound(f"no score config {config_id!r}")
    return found[config_id]


async def fetch_configs(storage: Storage, project_id: str, ids: list[str]) -> dict[str, ScoreConfig]:
    """Config id → config, for those of `ids` the project has."""
    return await repo.fetch_score_configs(storage.postgres, project_id, ids)
