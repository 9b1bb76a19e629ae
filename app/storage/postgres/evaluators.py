"""Repository of evaluators, their versions and a project's evaluation settings (every call scoped to
one project)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict
from app.storage.postgres.engine import Postgres
from app.storage.postgres.eval_tables import (
    EvaluationRule,
    EvaluationSettings,
    Evaluator,
    EvaluatorVersion,
)
from app.storage.postgres.tables import utcnow

MAX_RULES_READ = 1000  # rules of one project read to find an evaluator's assignments


async def list_evaluators_page(
    pg: Postgres, project_id: str, limit: int, after: tuple[datetime, str] | None = None
) -> list[Evaluator]:
    """Evaluators newest first, from after (created_at, id) of the previous page; `limit` rows at most."""
    stmt = select(Evaluator).where(Evaluator.project_id == project_id)
    if after is not None:
        stmt = stmt.where(tuple_(col(Evaluator.created_at), col(Evaluator.id)) < tuple_(*after))
    stmt = stmt.order_by(col(Evaluator.created_at).desc(), col(Evaluator.id).desc()).limit(limit)
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def count_evaluators(pg: Postgres, project_id: str) -> int:
    async with pg.session() as s:
        stmt = select(func.count()).select_from(Evaluator).where(Evaluator.project_id == project_id)
        return int((await s.exec(stmt)).one())


async def fetch_evaluator(pg: Postgres, project_id: str, evaluator_id: str) -> Evaluator | None:
    async with pg.session() as s:
        stmt = select(Evaluator).where(Evaluator.project_id == project_id, Evaluator.id == evaluator_id)
        return (await s.exec(stmt)).first()


async def latest_versions(
    pg: Postgres, project_id: str, evaluator_ids: list[str]
) -> dict[str, EvaluatorVersion]:
    """The newest version of each of these evaluators, by evaluator id."""
    if not evaluator_ids:
        return {}
    newest = (
        select(EvaluatorVersion.evaluator_id, func.max(EvaluatorVersion.version).label("v"))
        .where(
            EvaluatorVersion.project_id == project_id, col(EvaluatorVersion.evaluator_id).in_(evaluator_ids)
        )
        .group_by(col(EvaluatorVersion.evaluator_id))
        .subquery()
    )
    stmt = select(EvaluatorVersion).join(
        newest,
        (col(EvaluatorVersion.evaluator_id) == newest.c.evaluator_id)
        & (col(EvaluatorVersion.version) == newest.c.v),
    )
    stmt = stmt.where(EvaluatorVersion.project_id == project_id)
    async with pg.session() as s:
        return {v.evaluator_id: v for v in (await s.exec(stmt)).all()}


async def fetch_version(pg: Postgres, project_id: str, version_id: str) -> EvaluatorVersion | None:
    async with pg.session() as s:
        stmt = select(EvaluatorVersion).where(
            EvaluatorVersion.project_id == project_id, EvaluatorVersion.id == version_id
        )
        return (await s.exec(stmt)).first()


async def list_versions_page(
    pg: Postgres, project_id: str, evaluator_id: str, limit: int, before: int | None = None
) -> list[EvaluatorVersion]:
    """An evaluator's versions newest first, below version `before` when given."""
    stmt = select(EvaluatorVersion).where(
        EvaluatorVersion.project_id == project_id, EvaluatorVersion.evaluator_id == evaluator_id
    )
    if before is not None:
        stmt = stmt.where(col(EvaluatorVersion.version) < before)
    stmt = stmt.order_by(col(EvaluatorVersion.version).desc()).limit(limit)
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def insert_evaluator(pg: Postgres, evaluator: Evaluator, version: EvaluatorVersion) -> Evaluator:
    """Insert an evaluator with its first version in one transaction (names may repeat, as in Langfuse)."""
    async with pg.session() as s:
        s.add(evaluator)
        await s.flush()
        s.add(version)
        await s.commit()
        await s.refresh(evaluator)
    return evaluator


async def save_evaluator(
    pg: Postgres, evaluator: Evaluator, new_version: EvaluatorVersion | None = None
) -> Evaluator:
    """Update an evaluator and add a version in one transaction; a version written concurrently is a
    Conflict."""
    evaluator.updated_at = utcnow()
    async with pg.session() as s:
        merged = await s.merge(evaluator)
        if new_version is not None:
            s.add(new_version)
        try:
            await s.commit()
        except IntegrityError as exc:
            raise Conflict("the evaluator changed meanwhile; read it again and retry") from exc
        await s.refresh(merged)
    return merged


async def delete_evaluator(pg: Postgres, project_id: str, evaluator_id: str) -> bool:
    """Delete an evaluator (its versions cascade) and remove it from the rules that assign it; False
    when the project has no such evaluator."""
    async with pg.session() as s:
        stmt = select(Evaluator).where(Evaluator.project_id == project_id, Evaluator.id == evaluator_id)
        found = (await s.exec(stmt)).first()
        if found is None:
            return False
        for rule in await _rules(s, project_id):
            kept = [a for a in rule.evaluator_assignments if a.get("evaluatorId") != evaluator_id]
            if len(kept) != len(rule.evaluator_assignments):
                rule.evaluator_assignments = kept
                rule.updated_at = utcnow()
                s.add(rule)
        await s.delete(found)
        await s.commit()
    return True


async def _rules(s: AsyncSession, project_id: str) -> list[EvaluationRule]:
    stmt = (
        select(EvaluationRule)
        .where(EvaluationRule.project_id == project_id)
        .order_by(col(EvaluationRule.created_at).desc())
        .limit(MAX_RULES_READ)
    )
    return list((await s.exec(stmt)).all())


async def list_assigning_rules(pg: Postgres, project_id: str) -> list[EvaluationRule]:
    """The project's rules, newest first (bounded), to find which assign an evaluator."""
    async with pg.session() as s:
        return await _rules(s, project_id)


async def set_status(
    pg: Postgres, project_id: str, evaluator_id: str, status: str, reason: str | None
) -> Evaluator | None:
    """Pause (with a reason) or resume an evaluator; None when the project has no such evaluator."""
    async with pg.session() as s:
        stmt = select(Evaluator).where(Evaluator.project_id == project_id, Evaluator.id == evaluator_id)
        found = (await s.exec(stmt)).first()
        if found is None:
            return None
        now = utcnow()
        found.status, found.pause_reason = status, reason
        found.paused_at = now if status == "paused" else None
        found.updated_at = now
        s.add(found)
        await s.commit()
        await s.refresh(found)
    return found


async def evaluators_using_connection(pg: Postgres, project_id: str, name: str) -> list[str]:
    """Ids of active evaluators whose newest version names this connection (by its name)."""
    async with pg.session() as s:
        stmt = select(Evaluator.id).where(Evaluator.project_id == project_id, Evaluator.status == "active")
        ids = list((await s.exec(stmt)).all())
    versions = await latest_versions(pg, project_id, ids)
    return [
        evaluator_id
        for evaluator_id, v in versions.items()
        if isinstance(v.judge_model, dict) and v.judge_model.get("provider") == name
    ]


async def fetch_settings(pg: Postgres, project_id: str) -> EvaluationSettings | None:
    async with pg.session() as s:
        stmt = select(EvaluationSettings).where(EvaluationSettings.project_id == project_id)
        return (await s.exec(stmt)).first()


async def save_settings(pg: Postgres, settings: EvaluationSettings) -> EvaluationSettings:
    settings.updated_at = utcnow()
    async with pg.session() as s:
        merged = await s.merge(settings)
        await s.commit()
        await s.refresh(merged)
    return merged
