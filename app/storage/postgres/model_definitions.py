"""Repository for a project's model definitions (every call is scoped to one project)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.scoped import delete_in_project, fetch_in_project
from app.storage.postgres.tables import ModelDefinition


async def list_models(
    pg: Postgres, project_id: str, limit: int = 1000, offset: int = 0
) -> list[ModelDefinition]:
    async with pg.session() as s:
        stmt = (
            select(ModelDefinition)
            .where(ModelDefinition.project_id == project_id)
            .order_by(col(ModelDefinition.created_at).desc())
            .limit(limit)
            .offset(offset)
        )
        return list((await s.exec(stmt)).all())


async def count_models(pg: Postgres, project_id: str) -> int:
    async with pg.session() as s:
        stmt = (
            select(func.count()).select_from(ModelDefinition).where(ModelDefinition.project_id == project_id)
        )
        return int((await s.exec(stmt)).one())


async def fetch_model(pg: Postgres, project_id: str, model_id: str) -> ModelDefinition | None:
    return await fetch_in_project(pg, ModelDefinition, project_id, model_id)


async def create_model(pg: Postgres, model: ModelDefinition) -> ModelDefinition:
    async with pg.session() as s:
        s.add(model)
        await s.commit()
    return model


async def delete_model(pg: Postgres, project_id: str, model_id: str) -> bool:
    return await delete_in_project(pg, ModelDefinition, project_id, model_id)
