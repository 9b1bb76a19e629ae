"""Repository for score configs (every call is scoped to one project)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import ScoreConfig, utcnow


async def list_score_configs(pg: Postgres, project_id: str, limit: int, offset: int) -> list[ScoreConfig]:
    async with pg.session() as s:
        stmt = (
            select(ScoreConfig)
            .where(ScoreConfig.project_id == project_id)
            .order_by(col(ScoreConfig.created_at).desc())
            .limit(limit)
            .offset(offset)
        )
        return list((await s.exec(stmt)).all())


async def count_score_configs(pg: Postgres, project_id: str) -> int:
    async with pg.session() as s:
        stmt = select(func.count()).select_from(ScoreConfig).where(ScoreConfig.project_id == project_id)
        return int((await s.exec(stmt)).one())


async def fetch_score_configs(pg: Postgres, project_id: str, ids: list[str]) -> dict[str, ScoreConfig]:
    if not ids:
        return {}
    async with pg.session() as s:
        stmt = select(ScoreConfig).where(ScoreConfig.project_id == project_id, col(ScoreConfig.id).in_(ids))
        return {c.id: c for c in (await s.exec(stmt)).all()}


async def create_score_config(pg: Postgres, config: ScoreConfig) -> ScoreConfig:
    async with pg.session() as s:
        s.add(config)
        await s.commit()
    return config


async def update_score_config(
    pg: Postgres, project_id: str, config_id: str, changes: dict[str, object]
) -> ScoreConfig | None:
    async with pg.session() as s:
        stmt = select(ScoreConfig).where(ScoreConfig.project_id == project_id, ScoreConfig.id == config_id)
        config = (await s.exec(stmt)).first()
        if config is None:
            return None
        for key, value in changes.items():
            setattr(config, key, value)
        config.updated_at = utcnow()
        s.add(config)
        await s.commit()
    return config
