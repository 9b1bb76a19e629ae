"""Score configs by id, many in one query (None for an id the project has no config of)."""

from __future__ import annotations

from app.storage import Storage
from app.storage.postgres.tables import ScoreConfig
from app.tracing.score_configs import fetch_configs


async def score_config_by_id(
    storage: Storage, project_id: str, config_ids: list[str]
) -> list[ScoreConfig | None]:
    found = await fetch_configs(storage, project_id, config_ids)
    return [found.get(c) for c in config_ids]
