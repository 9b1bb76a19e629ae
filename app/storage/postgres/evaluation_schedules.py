"""Repository of scheduled and backfill evaluation runs (every call scoped to one project, except the
cron's look-up of due daily runs, which returns (project, schedule) pairs to run each in its project)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.eval_tables import EvaluationSchedule, JobExecution
from app.storage.postgres.tables import utcnow

MAX_LISTED = 100


async def create_schedule(pg: Postgres, schedule: EvaluationSchedule) -> EvaluationSchedule:
    async with pg.session() as s:
        s.add(schedule)
        await s.commit()
        await s.refresh(schedule)
    return schedule


async def fetch_schedule(pg: Postgres, project_id: str, schedule_id: str) -> EvaluationSchedule | None:
    async with pg.session() as s:
        stmt = select(EvaluationSchedule).where(
            EvaluationSchedule.project_id == project_id, EvaluationSchedule.id == schedule_id
        )
        return (await s.exec(stmt)).first()


async def list_schedules(pg: Postgres, project_id: str, rule_id: str) -> list[EvaluationSchedule]:
    """A rule's runs, newest first (at most MAX_LISTED)."""
    async with pg.session() as s:
        stmt = (
            select(EvaluationSchedule)
            .where(EvaluationSchedule.project_id == project_id, EvaluationSchedule.rule_id == rule_id)
            .order_by(col(EvaluationSchedule.created_at).desc())
            .limit(MAX_LISTED)
        )
        return list((await s.exec(stmt)).all())


async def update_schedule(
    pg: Postgres, project_id: str, schedule_id: str, changes: dict[str, object], *, unless: str | None = None
) -> bool:
    """Apply `changes` (column → value); with `unless`, not when the status is that (a cancelled run stays
    cancelled). Returns whether a row changed."""
    stmt = (
        update(EvaluationSchedule)
        .where(col(EvaluationSchedule.project_id) == project_id, col(EvaluationSchedule.id) == schedule_id)
        .values(**changes, updated_at=utcnow())
    )
    if unless is not None:
        stmt = stmt.where(col(EvaluationSchedule.status) != unless)
    async with pg.session() as s:
        result = await s.execute(stmt)
        await s.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def due_schedules(
    pg: Postgres, now: datetime, stale_before: datetime, limit: int = 1000
) -> list[EvaluationSchedule]:
    """Across projects (the cron's look-up): daily schedules due at `now`, and backfills still pending since
    before `stale_before` (their first enqueue was lost). Each is then run in its own project."""
    async with pg.session() as s:
        stmt = (
            select(EvaluationSchedule)
            .where(
                or_(
                    and_(
                        col(EvaluationSchedule.kind) == "daily",
                        col(EvaluationSchedule.status) == "active",
                        col(EvaluationSchedule.next_run_at) <= now,
                    ),
                    and_(
                        col(EvaluationSchedule.kind) == "range",
                        col(EvaluationSchedule.status) == "pending",
                        col(EvaluationSchedule.created_at) < stale_before,
                    ),
                )
            )
            .order_by(col(EvaluationSchedule.created_at))
            .limit(limit)
        )
        return list((await s.exec(stmt)).all())


async def judged_target_keys(
    pg: Postgres, project_id: str, rule_id: str, evaluator_ids: list[str], keys: list[str]
) -> set[str]:
    """Those of `keys` the rule has an execution for with every one of these evaluators."""
    if not keys or not evaluator_ids:
        return set(keys) if not evaluator_ids else set()
    stmt = (
        select(JobExecution.target_key)
        .where(
            JobExecution.project_id == project_id,
            JobExecution.rule_id == rule_id,
            col(JobExecution.evaluator_id).in_(evaluator_ids),
            col(JobExecution.target_key).in_(keys),
        )
        .group_by(col(JobExecution.target_key))
        .having(func.count(func.distinct(JobExecution.evaluator_id)) == len(set(evaluator_ids)))
    )
    async with pg.session() as s:
        return set((await s.exec(stmt)).all())
