"""Repository of evaluation rules (every call scoped to one project), and what rule matching reads of
the evaluators they assign: each one's status and newest version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, tuple_
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.eval_tables import EvaluationRule, Evaluator, EvaluatorVersion
from app.storage.postgres.tables import utcnow


@dataclass(frozen=True, slots=True)
class EvaluatorHead:
    """An evaluator as a rule uses it: its newest version."""

    evaluator_id: str
    name: str
    type: str
    status: str
    pause_reason: str | None
    version_id: str
    version: int
    variables: list[str]
    variable_mapping: object


async def create_rule(pg: Postgres, rule: EvaluationRule) -> EvaluationRule:
    async with pg.session() as s:
        s.add(rule)
        await s.commit()
        await s.refresh(rule)
    return rule


async def fetch_rule(pg: Postgres, project_id: str, rule_id: str) -> EvaluationRule | None:
    async with pg.session() as s:
        stmt = select(EvaluationRule).where(
            EvaluationRule.project_id == project_id, EvaluationRule.id == rule_id
        )
        return (await s.exec(stmt)).first()


async def list_rules_page(
    pg: Postgres, project_id: str, limit: int, after: tuple[datetime, str] | None = None
) -> list[EvaluationRule]:
    """Rules newest first, `limit` of them after the keyset (created_at, id) of the previous page."""
    stmt = select(EvaluationRule).where(EvaluationRule.project_id == project_id)
    if after is not None:
        created, rule_id = after
        stmt = stmt.where(
            or_(
                col(EvaluationRule.created_at) < created,
                tuple_(col(EvaluationRule.created_at), col(EvaluationRule.id)) < tuple_(created, rule_id),
            )
        )
    stmt = stmt.order_by(col(EvaluationRule.created_at).desc(), col(EvaluationRule.id).desc()).limit(limit)
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def list_enabled_rules(pg: Postgres, project_id: str) -> list[EvaluationRule]:
    async with pg.session() as s:
        stmt = select(EvaluationRule).where(
            EvaluationRule.project_id == project_id, col(EvaluationRule.enabled).is_(True)
        )
        return list((await s.exec(stmt.order_by(col(EvaluationRule.created_at)))).all())


async def update_rule(
    pg: Postgres, project_id: str, rule_id: str, changes: dict[str, object]
) -> EvaluationRule | None:
    async with pg.session() as s:
        stmt = select(EvaluationRule).where(
            EvaluationRule.project_id == project_id, EvaluationRule.id == rule_id
        )
        rule = (await s.exec(stmt)).first()
        if rule is None:
            return None
        for key, value in changes.items():
            setattr(rule, key, value)
        rule.updated_at = utcnow()
        s.add(rule)
        await s.commit()
        await s.refresh(rule)
    return rule


async def delete_rule(pg: Postgres, project_id: str, rule_id: str) -> bool:
    async with pg.session() as s:
        stmt = select(EvaluationRule).where(
            EvaluationRule.project_id == project_id, EvaluationRule.id == rule_id
        )
        rule = (await s.exec(stmt)).first()
        if rule is None:
            return False
        await s.delete(rule)
        await s.commit()
    return True


async def evaluator_heads(
    pg: Postgres, project_id: str, evaluator_ids: list[str] | None = None
) -> dict[str, EvaluatorHead]:
    """The project's evaluators (or these of them) with their newest version, by id."""
    newest = (
        select(EvaluatorVersion.evaluator_id, func.max(EvaluatorVersion.version).label("version"))
        .where(EvaluatorVersion.project_id == project_id)
        .group_by(col(EvaluatorVersion.evaluator_id))
        .subquery()
    )
    stmt = (
        select(Evaluator, EvaluatorVersion)
        .join(newest, col(newest.c.evaluator_id) == col(Evaluator.id))
        .join(
            EvaluatorVersion,
            (col(EvaluatorVersion.evaluator_id) == col(Evaluator.id))
            & (col(EvaluatorVersion.version) == col(newest.c.version)),
        )
        .where(Evaluator.project_id == project_id)
    )
    if evaluator_ids is not None:
        if not evaluator_ids:
            return {}
        stmt = stmt.where(col(Evaluator.id).in_(evaluator_ids))
    async with pg.session() as s:
        rows = (await s.exec(stmt)).all()
    return {
        e.id: EvaluatorHead(
            e.id,
            e.name,
            e.type,
            e.status,
            e.pause_reason,
            v.id,
            v.version,
            list(v.variables),
            v.variable_mapping,
        )
        for e, v in rows
    }
