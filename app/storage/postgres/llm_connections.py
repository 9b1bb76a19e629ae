"""Repository for a project's LLM connections (every call is scoped to one project)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.errors import Conflict
from app.storage.postgres.engine import Postgres
from app.storage.postgres.scoped import delete_in_project, fetch_in_project
from app.storage.postgres.tables import LlmConnection, utcnow

MAX_CONNECTIONS = 200


async def list_connections(pg: Postgres, project_id: str) -> list[LlmConnection]:
    async with pg.session() as s:
        stmt = (
            select(LlmConnection)
            .where(LlmConnection.project_id == project_id)
            .order_by(col(LlmConnection.name))
            .limit(MAX_CONNECTIONS)
        )
        return list((await s.exec(stmt)).all())


async def fetch_connection(pg: Postgres, project_id: str, connection_id: str) -> LlmConnection | None:
    return await fetch_in_project(pg, LlmConnection, project_id, connection_id)


async def save_connection(pg: Postgres, connection: LlmConnection) -> LlmConnection:
    """Insert or update; another connection of the project with the same name is a Conflict."""
    connection.updated_at = utcnow()
    async with pg.session() as s:
        merged = await s.merge(connection)
        try:
            await s.commit()
        except IntegrityError as exc:
            raise Conflict(f"a connection named {connection.name!r} already exists in this project") from exc
        await s.refresh(merged)
    return merged


async def delete_connection(pg: Postgres, project_id: str, connection_id: str) -> bool:
    return await delete_in_project(pg, LlmConnection, project_id, connection_id)
