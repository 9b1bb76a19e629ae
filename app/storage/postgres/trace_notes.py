"""Repository for what people add to traces: flags (bookmark, public) and comments (project-scoped)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from app.storage.postgres.engine import Postgres
from app.storage.postgres.scoped import fetch_in_project
from app.storage.postgres.tables import Comment, Membership, Project, TraceFlag, User, utcnow

MAX_BOOKMARKS = 10_000


async def set_trace_flag(
    pg: Postgres,
    project_id: str,
    trace_id: str,
    *,
    bookmarked: bool | None = None,
    public: bool | None = None,
) -> TraceFlag:
    async with pg.session() as s:
        flag = await s.get(TraceFlag, (project_id, trace_id)) or TraceFlag(
            project_id=project_id, trace_id=trace_id
        )
        if bookmarked is not None:
            flag.bookmarked = bookmarked
        if public is not None:
            flag.public = public
        flag.updated_at = utcnow()
        s.add(flag)
        await s.commit()
        await s.refresh(flag)
    return flag


async def trace_flags(pg: Postgres, project_id: str, trace_ids: list[str]) -> dict[str, TraceFlag]:
    if not trace_ids:
        return {}
    async with pg.session() as s:
        stmt = select(TraceFlag).where(
            TraceFlag.project_id == project_id, col(TraceFlag.trace_id).in_(trace_ids)
        )
        return {f.trace_id: f for f in (await s.exec(stmt)).all()}


async def bookmarked_trace_ids(pg: Postgres, project_id: str) -> list[str]:
    async with pg.session() as s:
        stmt = (
            select(TraceFlag.trace_id)
            .where(TraceFlag.project_id == project_id, col(TraceFlag.bookmarked).is_(True))
            .limit(MAX_BOOKMARKS)
        )
        return list((await s.exec(stmt)).all())


async def delete_trace_flags(pg: Postgres, project_id: str, trace_ids: list[str]) -> None:
    async with pg.session() as s:
        stmt = select(TraceFlag).where(
            TraceFlag.project_id == project_id, col(TraceFlag.trace_id).in_(trace_ids)
        )
        for flag in (await s.exec(stmt)).all():
            await s.delete(flag)
        await s.commit()


async def create_comment(pg: Postgres, comment: Comment) -> Comment:
    async with pg.session() as s:
        s.add(comment)
        await s.commit()
        await s.refresh(comment)
    return comment


async def list_comments(
    pg: Postgres,
    project_id: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    author_user_id: str | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[list[Comment], int]:
    conditions = [Comment.project_id == project_id]
    if object_type:
        conditions.append(Comment.object_type == object_type)
    if object_id:
        conditions.append(Comment.object_id == object_id)
    if author_user_id:
        conditions.append(Comment.author_user_id == author_user_id)
    async with pg.session() as s:
        stmt = (
            select(Comment)
            .where(*conditions)
            .order_by(col(Comment.created_at).desc())
            .limit(limit)
            .offset(offset)
        )
        total = (await s.exec(select(func.count()).select_from(Comment).where(*conditions))).one()
        return list((await s.exec(stmt)).all()), int(total)


async def object_comments(
    pg: Postgres, project_id: str, object_type: str, object_id: str, limit: int
) -> list[tuple[Comment, str | None]]:
    """The newest comments on one object, each with its author's name (else email); None for comments
    written with an API key, or naming someone who is not (or no longer) in the project's organization:
    an API caller may set any author id, and people outside the organization stay unnamed."""
    author = func.coalesce(func.nullif(User.name, ""), User.email)
    organization = select(Project.organization_id).where(Project.id == project_id).scalar_subquery()
    members = select(Membership.user_id).where(Membership.organization_id == organization)
    stmt = (
        select(Comment, author)
        .outerjoin(User, (col(User.id) == col(Comment.author_user_id)) & col(User.id).in_(members))
        .where(
            Comment.project_id == project_id,
            Comment.object_type == object_type,
            Comment.object_id == object_id,
        )
        .order_by(col(Comment.created_at).desc())
        .limit(limit)
    )
    async with pg.session() as s:
        return [(c, name) for c, name in (await s.exec(stmt)).all()]


async def fetch_comment(pg: Postgres, project_id: str, comment_id: str) -> Comment | None:
    return await fetch_in_project(pg, Comment, project_id, comment_id)
