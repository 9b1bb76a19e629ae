"""Repository for custom dashboards (every call is scoped to one project)."""

from __future__ import annotations

from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.scoped import delete_in_project, fetch_in_project
from app.storage.postgres.tables import Dashboard, utcnow


async def list_dashboards(pg: Postgres, project_id: str) -> list[Dashboard]:
    async with pg.session() as s:
        stmt = select(Dashboard).where(Dashboard.project_id == project_id).order_by(col(Dashboard.name))
        return list((await s.exec(stmt)).all())


async def fetch_dashboard(pg: Postgres, project_id: str, dashboard_id: str) -> Dashboard | None:
    return await fetch_in_project(pg, Dashboard, project_id, dashboard_id)


async def save_dashboard(pg: Postgres, dashboard: Dashboard) -> Dashboard:
    dashboard.updated_at = utcnow()
    async with pg.session() as s:
        merged = await s.merge(dashboard)
        await s.commit()
        await s.refresh(merged)
    return merged


async def delete_dashboard(pg: Postgres, project_id: str, dashboard_id: str) -> bool:
    return await delete_in_project(pg, Dashboard, project_id, dashboard_id)
