"""Fetch and delete one row of a project's table by id: the project predicate said once."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import Comment, Dashboard, LlmConnection, ModelDefinition

Row = TypeVar("Row", Comment, Dashboard, LlmConnection, ModelDefinition)


async def fetch_in_project(pg: Postgres, table: type[Row], project_id: str, row_id: str) -> Row | None:
    async with pg.session() as s:
        stmt = select(table).where(table.project_id == project_id, table.id == row_id)
        return (await s.exec(stmt)).first()


async def delete_in_project(pg: Postgres, table: type[Row], project_id: str, row_id: str) -> bool:
    """Delete the row; False when the project has no such row."""
    async with pg.session() as s:
        found = (
            await s.exec(select(table).where(table.project_id == project_id, table.id == row_id))
        ).first()
        if found is None:
            return False
        await s.delete(found)
        await s.commit()
    return True
