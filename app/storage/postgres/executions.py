"""Repository of judge job executions (every call scoped to one project)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.eval_tables import (
    EvaluationRule,
    EvaluationSettings,
    Evaluator,
    EvaluatorVersion,
    JobExecution,
)
from app.storage.postgres.tables import utcnow

MAX_PAGE = 100


async def create_pending(pg: Postgres, executions: list[JobExecution]) -> list[JobExecution]:
    """Insert these executions; one whose (rule, evaluator, target) exists already is skipped (a replayed
    batch, a backfill over judged data), and so is one whose evaluator or rule was deleted since the
    caller read them (matching caches rules for a few seconds). Returns those inserted."""
    if not executions:
        return []
    try:
        inserted = await _insert(pg, executions)
    except IntegrityError:  # a foreign key: an evaluator or rule is gone; the others still go in
        executions = await _still_defined(pg, executions)
        inserted = await _insert(pg, executions) if executions else set()
    return [e for e in executions if e.id in inserted]


async def _insert(pg: Postgres, executions: list[JobExecution]) -> set[str]:
    # One statement for any number of rows (compiled once and cached; the driver batches the rows).
    stmt = (
        insert(JobExecution)
        .on_conflict_do_nothing(index_elements=["project_id", "rule_id", "evaluator_id", "target_key"])
        .returning(col(JobExecution.id))
    )
    async with pg.session() as s:
        inserted = set((await s.execute(stmt, [e.model_dump() for e in executions])).scalars().all())
        await s.commit()
    return inserted


async def _still_defined(pg: Postgres, executions: list[JobExecution]) -> list[JobExecution]:
    """Those whose evaluator and rule still exist (the executions are of one project)."""
    project_id = executions[0].project_id
    async with pg.session() as s:
        evaluators = set(
            (
                await s.exec(
                    select(Evaluator.id).where(
                        Evaluator.project_id == project_id,
                        col(Evaluator.id).in_({e.evaluator_id for e in executions}),
                    )
                )
            ).all()
        )
        rules = set(
            (
                await s.exec(
                    select(EvaluationRule.id).where(
                        EvaluationRule.project_id == project_id,
                        col(EvaluationRule.id).in_({e.rule_id for e in executions if e.rule_id}),
                    )
                )
            ).all()
        )
    return [e for e in executions if e.evaluator_id in evaluators and e.rule_id in rules | {None}]


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


_TABLE = JobExecution.__table__  # type: ignore[attr-defined]
_UPDATED = [c.name for c in _TABLE.columns if c.name not in {"id", "project_id", "created_at"}]
# Built once, on the table rather than the ORM entity: building the statement (and the ORM's bulk-update
# bookkeeping) cost more than the round trip. Values are bound per call.
_UPDATE = (
    _TABLE.update()
    .where(_TABLE.c.project_id == bindparam("key_project_id"), _TABLE.c.id == bindparam("key_id"))
    .values({c: bindparam(c, type_=_TABLE.c[c].type) for c in _UPDATED})
)


async def update_execution(pg: Postgres, execution: JobExecution) -> JobExecution:
    """Write an existing execution's state back in one UPDATE (the judge's hot path)."""
    execution.updated_at = utcnow()
    values = {c: getattr(execution, c) for c in _UPDATED}
    async with pg.single_statement() as s:
        await s.execute(_UPDATE, {**values, "key_project_id": execution.project_id, "key_id": execution.id})
    return execution


async def list_overdue(pg: Postgres, project_id: str, before: datetime, limit: int) -> list[JobExecution]:
    """PENDING or DELAYED executions of the project due before `before` (their job may be lost)."""
    stmt = (
        select(JobExecution)
        .where(
            JobExecution.project_id == project_id,
            col(JobExecution.status).in_(("PENDING", "DELAYED")),
            col(JobExecution.scheduled_for) < before,
        )
        .limit(limit)
    )
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def names_of(
    pg: Postgres, project_id: str, evaluator_ids: list[str], rule_ids: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Names of these evaluators and rules of the project, by id (for lists of executions)."""
    async with pg.session() as s:
        evaluators = (
            await s.exec(
                select(Evaluator.id, Evaluator.name).where(
                    Evaluator.project_id == project_id, col(Evaluator.id).in_(evaluator_ids or [""])
                )
            )
        ).all()
        rules = (
            await s.exec(
                select(EvaluationRule.id, EvaluationRule.name).where(
                    EvaluationRule.project_id == project_id, col(EvaluationRule.id).in_(rule_ids or [""])
                )
            )
        ).all()
    return {str(i): str(n) for i, n in evaluators}, {str(i): str(n) for i, n in rules}


async def list_executions_page(
    pg: Postgres,
    project_id: str,
    *,
    rule_id: str | None = None,
    evaluator_id: str | None = None,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[JobExecution]:
    """Newest first, keyset after (created_at, id); `limit` capped at MAX_PAGE + 1 (one more: a next page)."""
    stmt = select(JobExecution).where(JobExecution.project_id == project_id)
    if rule_id:
        stmt = stmt.where(JobExecution.rule_id == rule_id)
    if evaluator_id:
        stmt = stmt.where(JobExecution.evaluator_id == evaluator_id)
    if status:
        stmt = stmt.where(JobExecution.status == status)
    if after is not None:
        created, last_id = after
        stmt = stmt.where(
            or_(
                col(JobExecution.created_at) < created,
                and_(col(JobExecution.created_at) == created, col(JobExecution.id) < last_id),
            )
        )
    stmt = stmt.order_by(col(JobExecution.created_at).desc(), col(JobExecution.id).desc())
    async with pg.session() as s:
        return list((await s.exec(stmt.limit(min(limit, MAX_PAGE + 1)))).all())


async def counts_by_status(
    pg: Postgres, project_id: str, *, rule_id: str | None = None, evaluator_id: str | None = None
) -> dict[str, int]:
    """Executions per status (of one rule or evaluator when given)."""
    stmt = select(JobExecution.status, func.count()).where(JobExecution.project_id == project_id)
    if rule_id:
        stmt = stmt.where(JobExecution.rule_id == rule_id)
    if evaluator_id:
        stmt = stmt.where(JobExecution.evaluator_id == evaluator_id)
    async with pg.session() as s:
        rows = (await s.exec(stmt.group_by(JobExecution.status))).all()
    return {str(status): int(n) for status, n in rows}


async def cost_since(pg: Postgres, project_id: str, since: datetime) -> float:
    """What the project's judges cost (USD) in executions ended since `since`."""
    stmt = select(func.coalesce(func.sum(JobExecution.cost_usd), 0.0)).where(
        JobExecution.project_id == project_id, col(JobExecution.ended_at) >= since
    )
    async with pg.session() as s:
        return float((await s.exec(stmt)).one() or 0.0)


@dataclass(frozen=True, slots=True)
class JudgeParts:
    """An execution with what it runs (None where deleted) and the project's daily judge cost cap."""

    execution: JobExecution | None = None
    evaluator: Evaluator | None = None
    version: EvaluatorVersion | None = None
    rule: EvaluationRule | None = None
    cost_cap_usd: float | None = None


def _judge_parts_statement() -> Any:
    project_id: Any = bindparam("project_id")
    return (
        sa_select(
            JobExecution,
            Evaluator,
            EvaluatorVersion,
            EvaluationRule,
            col(EvaluationSettings.daily_cost_cap_usd),
        )
        .outerjoin(
            Evaluator,
            and_(
                col(Evaluator.id) == col(JobExecution.evaluator_id), col(Evaluator.project_id) == project_id
            ),
        )
        .outerjoin(
            EvaluatorVersion,
            and_(
                col(EvaluatorVersion.id) == col(JobExecution.evaluator_version_id),
                col(EvaluatorVersion.project_id) == project_id,
            ),
        )
        .outerjoin(
            EvaluationRule,
            and_(
                col(EvaluationRule.id) == col(JobExecution.rule_id),
                col(EvaluationRule.project_id) == project_id,
            ),
        )
        .outerjoin(EvaluationSettings, col(EvaluationSettings.project_id) == project_id)
        .where(col(JobExecution.project_id) == project_id, col(JobExecution.id) == bindparam("execution_id"))
    )


_JUDGE_PARTS = _judge_parts_statement()  # built once (per call it cost more than the query)


async def fetch_judge_parts(pg: Postgres, project_id: str, execution_id: str) -> JudgeParts:
    """An execution with the evaluator, version and rule it runs and the project's cost cap, in one read."""
    async with pg.single_statement() as s:
        params = {"project_id": project_id, "execution_id": execution_id}
        row = (await s.execute(_JUDGE_PARTS, params)).first()
    return JudgeParts() if row is None else JudgeParts(row[0], row[1], row[2], row[3], row[4])


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
