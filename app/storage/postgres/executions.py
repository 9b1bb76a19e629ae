"""Repository of judge job executions (every call scoped to one project)."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.eval_tables import JobExecution
from app.storage.postgres.tables import utcnow


async def create_pending(pg: Postgres, executions: list[JobExecution]) -> list[JobExecution]:
    """Insert these executions; one whose (rule, evaluator, target) exists already is skipped (a replayed
    batch, a backfill over judged data). Returns those inserted."""
    if not executions:
        return []
    values = [e.model_dump() for e in executions]
    stmt = (
        insert(JobExecution)
        .values(values)
        .on_conflict_do_nothing(index_elements=["project_id", "rule_id", "evaluator_id", "target_key"])
        .returning(col(JobExecution.id))
    )
    async with pg.session() as s:
        inserted = set((await s.execute(stmt)).scalars().all())
        await s.commit()
    return [e for e in executions if e.id in inserted]


async def fetch_execution(pg: Postgres, project_id: str, execution_id: str) -> JobExecution | None:
    async with pg.session() as s:
        stmt = select(JobExecution).where(
            JobExecution.project_id == project_id, JobExecution.id == execution_id
        )
        return (await s.exec(stmt)).first()


async def save_execution(pg: Postgres, execution: JobExecution) -> JobExecution:
    execution.updated_at = utcnow()
    async with pg.session() as s:
        merged = await s.merge(execution)
        await s.commit()
        await s.refresh(merged)
    return merged


# -- counts for the rules list (judge-rules) --


async def counts_by_rule(pg: Postgres, project_id: str) -> dict[str, dict[str, int]]:
    """Executions per rule and status: {rule_id: {status: count}} (one grouped read)."""
    stmt = (
        select(JobExecution.rule_id, JobExecution.status, func.count())
        .where(JobExecution.project_id == project_id, col(JobExecution.rule_id).is_not(None))
        .group_by(col(JobExecution.rule_id), col(JobExecution.status))
    )
    out: dict[str, dict[str, int]] = {}
    async with pg.session() as s:
        for rule_id, status, n in (await s.exec(stmt)).all():
            out.setdefault(str(rule_id), {})[status] = int(n)
    return out
