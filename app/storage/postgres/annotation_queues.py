"""Repository of annotation queues, their items and assignments (every call scoped to one project).

Review order, for one reviewer: the pending item they hold (resuming), then pending items assigned to
them, then the others, oldest first. Claiming an item holds it for a while (`locked_until`): others are
given other items meanwhile, and a reviewer holds at most one item of a queue at a time. Claims lock the
chosen row with SKIP LOCKED, so two reviewers claiming at once never get the same item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict
from app.storage.postgres.annotation_tables import (
    AnnotationQueue,
    AnnotationQueueAssignment,
    AnnotationQueueItem,
    ItemStatus,
    ObjectType,
)
from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import new_id, utcnow

Item = AnnotationQueueItem


def _changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return int(cast("CursorResult[Any]", result).rowcount)


@dataclass(frozen=True, slots=True)
class NewQueueItem:
    """An object to add to a queue; COMPLETED items are stamped completed now."""

    object_type: ObjectType
    object_id: str
    status: ItemStatus = ItemStatus.PENDING
    assigned_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueProgress:
    """How many items of a queue are done, of how many."""

    total: int = 0
    completed: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.completed


@dataclass(frozen=True, slots=True)
class ItemHold:
    """The outcome of opening an item: `held` when the reviewer now holds it; otherwise another reviewer
    (`item.locked_by_user_id`) holds it until `item.locked_until`."""

    item: AnnotationQueueItem
    held: bool


# -- queues --------------------------------------------------------------------------------------


async def create_queue(pg: Postgres, queue: AnnotationQueue) -> AnnotationQueue:
    """Store a new queue; Conflict when the project has a queue of that name."""
    name = queue.name
    async with pg.session() as s:
        s.add(queue)
        try:
            await s.commit()
        except IntegrityError as exc:
            raise Conflict(f"an annotation queue named {name!r} exists in this project") from exc
    return queue


async def fetch_queue(pg: Postgres, project_id: str, queue_id: str) -> AnnotationQueue | None:
    async with pg.session() as s:
        stmt = select(AnnotationQueue).where(
            AnnotationQueue.project_id == project_id, AnnotationQueue.id == queue_id
        )
        return (await s.exec(stmt)).first()


async def list_queues(
    pg: Postgres, project_id: str, limit: int, offset: int = 0, first_for: str | None = None
) -> list[AnnotationQueue]:
    """A page of the project's queues, newest first; with `first_for`, the queues assigned to that user
    before the others (across pages)."""
    order: list[Any] = [col(AnnotationQueue.created_at).desc(), col(AnnotationQueue.id).desc()]
    if first_for is not None:
        mine = (
            select(AnnotationQueueAssignment.queue_id)
            .where(
                AnnotationQueueAssignment.project_id == project_id,
                AnnotationQueueAssignment.queue_id == AnnotationQueue.id,
                AnnotationQueueAssignment.user_id == first_for,
            )
            .exists()
        )
        order.insert(0, case((mine, 0), else_=1))
    stmt = (
        select(AnnotationQueue)
        .where(AnnotationQueue.project_id == project_id)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def count_queues(pg: Postgres, project_id: str) -> int:
    stmt = select(func.count()).select_from(AnnotationQueue).where(AnnotationQueue.project_id == project_id)
    async with pg.session() as s:
        return int((await s.exec(stmt)).one())


async def update_queue(
    pg: Postgres, project_id: str, queue_id: str, changes: dict[str, object]
) -> AnnotationQueue | None:
    """Apply `changes` (column → value); None when the project has no such queue, Conflict on a taken
    name."""
    async with pg.session() as s:
        stmt = select(AnnotationQueue).where(
            AnnotationQueue.project_id == project_id, AnnotationQueue.id == queue_id
        )
        queue = (await s.exec(stmt)).first()
        if queue is None:
            return None
        for key, value in changes.items():
            setattr(queue, key, value)
        queue.updated_at = utcnow()
        name = queue.name
        s.add(queue)
        try:
            await s.commit()
        except IntegrityError as exc:
            raise Conflict(f"an annotation queue named {name!r} exists in this project") from exc
    return queue


async def delete_queue(pg: Postgres, project_id: str, queue_id: str) -> bool:
    """Delete a queue with its items and assignments; False when the project has no such queue."""
    stmt = delete(AnnotationQueue).where(
        col(AnnotationQueue.project_id) == project_id, col(AnnotationQueue.id) == queue_id
    )
    async with pg.session() as s:
        result = await s.execute(stmt)
        await s.commit()
    return _changed(result) > 0


async def progress_of(pg: Postgres, project_id: str, queue_ids: Sequence[str]) -> dict[str, QueueProgress]:
    """Items and completed items per queue (every queue asked about, zeros included), one grouped read."""
    out = {queue_id: QueueProgress() for queue_id in queue_ids}
    if not queue_ids:
        return out
    stmt = (
        select(Item.queue_id, func.count(), func.count().filter(col(Item.status) == ItemStatus.COMPLETED))
        .where(Item.project_id == project_id, col(Item.queue_id).in_(queue_ids))
        .group_by(col(Item.queue_id))
    )
    async with pg.session() as s:
        for queue_id, total, completed in (await s.exec(stmt)).all():
            out[str(queue_id)] = QueueProgress(int(total), int(completed))
    return out


# -- items ---------------------------------------------------------------------------------------


async def add_items(
    pg: Postgres, project_id: str, queue_id: str, new: Sequence[NewQueueItem]
) -> list[AnnotationQueueItem] | None:
    """Add objects to a queue in one transaction and return their items in the order given: an object
    already in the queue keeps its item as it is. None when the project has no such queue."""
    now = utcnow()
    # Created a microsecond apart, so review order (oldest first) is the order given.
    rows = [
        {
            "id": new_id(),
            "project_id": project_id,
            "queue_id": queue_id,
            "object_type": n.object_type.value,
            "object_id": n.object_id,
            "status": n.status.value,
            "completed_at": now if n.status == ItemStatus.COMPLETED else None,
            "assigned_user_id": n.assigned_user_id,
            "created_at": now + timedelta(microseconds=i),
            "updated_at": now,
        }
        for i, n in enumerate(new)
    ]
    async with pg.session() as s:
        # The queue row is locked (FOR KEY SHARE) so it cannot be deleted before the items are in.
        found = await s.exec(
            select(AnnotationQueue.id)
            .where(AnnotationQueue.project_id == project_id, AnnotationQueue.id == queue_id)
            .with_for_update(key_share=True)
        )
        if found.first() is None:
            return None
        if rows:
            stmt = insert(Item).on_conflict_do_nothing(
                index_elements=["project_id", "queue_id", "object_type", "object_id"]
            )
            await s.execute(stmt, rows)
        keys = {(n.object_type.value, n.object_id) for n in new}
        stored = (
            await s.exec(
                select(Item).where(
                    Item.project_id == project_id,
                    Item.queue_id == queue_id,
                    tuple_(col(Item.object_type), col(Item.object_id)).in_(list(keys)),
                )
            )
            if keys
            else None
        )
        by_key = {(i.object_type, i.object_id): i for i in (stored.all() if stored else ())}
        await s.commit()
    return [by_key[(n.object_type.value, n.object_id)] for n in new]


def _item(project_id: str, queue_id: str, item_id: str) -> ColumnElement[bool]:
    return and_(col(Item.project_id) == project_id, col(Item.queue_id) == queue_id, col(Item.id) == item_id)


async def fetch_item(
    pg: Postgres, project_id: str, queue_id: str, item_id: str
) -> AnnotationQueueItem | None:
    async with pg.session() as s:
        return (await s.exec(select(Item).where(_item(project_id, queue_id, item_id)))).first()


async def list_items(
    pg: Postgres,
    project_id: str,
    queue_id: str,
    *,
    status: ItemStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AnnotationQueueItem]:
    """A page of a queue's items, newest first, of one status when given."""
    stmt = select(Item).where(Item.project_id == project_id, Item.queue_id == queue_id)
    if status is not None:
        stmt = stmt.where(Item.status == status.value)
    stmt = stmt.order_by(col(Item.created_at).desc(), col(Item.id).desc()).limit(limit).offset(offset)
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def count_items(
    pg: Postgres, project_id: str, queue_id: str, *, status: ItemStatus | None = None
) -> int:
    stmt = (
        select(func.count()).select_from(Item).where(Item.project_id == project_id, Item.queue_id == queue_id)
    )
    if status is not None:
        stmt = stmt.where(Item.status == status.value)
    async with pg.session() as s:
        return int((await s.exec(stmt)).one())


async def items_of_object(
    pg: Postgres, project_id: str, object_type: ObjectType, object_id: str
) -> list[AnnotationQueueItem]:
    """Every queue item of one object (the queues a trace, observation or session is in), oldest first."""
    stmt = (
        select(Item)
        .where(
            Item.project_id == project_id, Item.object_id == object_id, Item.object_type == object_type.value
        )
        .order_by(col(Item.created_at))
    )
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def set_item_status(
    pg: Postgres,
    project_id: str,
    queue_id: str,
    item_id: str,
    status: ItemStatus,
    *,
    user_id: str | None = None,
) -> AnnotationQueueItem | None:
    """Set an item's status: COMPLETED stamps `completed_at` (and who, `user_id`) and ends any hold;
    PENDING clears them. None when the queue has no such item."""
    now = utcnow()
    done = status == ItemStatus.COMPLETED
    values: dict[str, object] = {
        "status": status.value,
        "completed_at": now if done else None,
        "completed_by_user_id": user_id if done else None,
        "updated_at": now,
    }
    if done:
        values.update(locked_by_user_id=None, locked_until=None)
    stmt = update(Item).where(_item(project_id, queue_id, item_id)).values(**values).returning(Item)
    async with pg.session() as s:
        row = (await s.execute(stmt)).scalars().first()
        await s.commit()
    return row


async def assign_items(
    pg: Postgres, project_id: str, queue_id: str, item_ids: Sequence[str], user_id: str | None
) -> int:
    """Set (or, with None, clear) the reviewer these items are meant for; how many items changed."""
    if not item_ids:
        return 0
    stmt = (
        update(Item)
        .where(
            col(Item.project_id) == project_id,
            col(Item.queue_id) == queue_id,
            col(Item.id).in_(list(item_ids)),
        )
        .values(assigned_user_id=user_id, updated_at=utcnow())
    )
    async with pg.session() as s:
        result = await s.execute(stmt)
        await s.commit()
    return _changed(result)


async def delete_item(pg: Postgres, project_id: str, queue_id: str, item_id: str) -> bool:
    """Delete an item; False when the queue has no such item."""
    async with pg.session() as s:
        result = await s.execute(delete(Item).where(_item(project_id, queue_id, item_id)))
        await s.commit()
    return _changed(result) > 0


# -- assignments ---------------------------------------------------------------------------------


async def assign(
    pg: Postgres, project_id: str, queue_id: str, user_id: str
) -> AnnotationQueueAssignment | None:
    """Assign a user to a queue (again: unchanged); None when the project has no such queue. The caller
    checks that the user is a member of the project."""
    async with pg.session() as s:
        found = await s.exec(
            select(AnnotationQueue.id)
            .where(AnnotationQueue.project_id == project_id, AnnotationQueue.id == queue_id)
            .with_for_update(key_share=True)
        )
        if found.first() is None:
            return None
        stmt = (
            insert(AnnotationQueueAssignment)
            .values(queue_id=queue_id, user_id=user_id, project_id=project_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["queue_id", "user_id"])
        )
        await s.execute(stmt)
        row = (
            await s.exec(
                select(AnnotationQueueAssignment).where(
                    AnnotationQueueAssignment.queue_id == queue_id,
                    AnnotationQueueAssignment.user_id == user_id,
                )
            )
        ).one()
        await s.commit()
    return row


async def unassign(pg: Postgres, project_id: str, queue_id: str, user_id: str) -> bool:
    """Remove a user's assignment to a queue; False when there was none."""
    stmt = delete(AnnotationQueueAssignment).where(
        col(AnnotationQueueAssignment.project_id) == project_id,
        col(AnnotationQueueAssignment.queue_id) == queue_id,
        col(AnnotationQueueAssignment.user_id) == user_id,
    )
    async with pg.session() as s:
        result = await s.execute(stmt)
        await s.commit()
    return _changed(result) > 0


async def assignees_of(pg: Postgres, project_id: str, queue_ids: Sequence[str]) -> dict[str, list[str]]:
    """The user ids assigned to each queue (every queue asked about), in order of assignment."""
    out: dict[str, list[str]] = {queue_id: [] for queue_id in queue_ids}
    if not queue_ids:
        return out
    stmt = (
        select(AnnotationQueueAssignment.queue_id, AnnotationQueueAssignment.user_id)
        .where(
            AnnotationQueueAssignment.project_id == project_id,
            col(AnnotationQueueAssignment.queue_id).in_(queue_ids),
        )
        .order_by(col(AnnotationQueueAssignment.created_at), col(AnnotationQueueAssignment.user_id))
    )
    async with pg.session() as s:
        for queue_id, user_id in (await s.exec(stmt)).all():
            out[str(queue_id)].append(str(user_id))
    return out


async def queues_assigned_to(pg: Postgres, project_id: str, user_id: str) -> set[str]:
    """The ids of the project's queues the user is assigned to."""
    stmt = select(AnnotationQueueAssignment.queue_id).where(
        AnnotationQueueAssignment.project_id == project_id, AnnotationQueueAssignment.user_id == user_id
    )
    async with pg.session() as s:
        return {str(q) for q in (await s.exec(stmt)).all()}


# -- review: claiming and holding items --------------------------------------------------------------


def _claimable(project_id: str, queue_id: str, user_id: str, now: datetime) -> ColumnElement[bool]:
    """Pending items of the queue that nobody else holds."""
    return and_(
        col(Item.project_id) == project_id,
        col(Item.queue_id) == queue_id,
        col(Item.status) == ItemStatus.PENDING.value,
        or_(
            col(Item.locked_until).is_(None),
            col(Item.locked_until) <= now,
            col(Item.locked_by_user_id) == user_id,
        ),
    )


async def _hold(s: AsyncSession, item: AnnotationQueueItem, user_id: str, until: datetime) -> None:
    """Hold `item` for the reviewer and release any other item of the queue they hold; commits."""
    await s.execute(
        update(Item)
        .where(
            col(Item.project_id) == item.project_id,
            col(Item.queue_id) == item.queue_id,
            col(Item.locked_by_user_id) == user_id,
            col(Item.id) != item.id,
        )
        .values(locked_by_user_id=None, locked_until=None)
    )
    item.locked_by_user_id, item.locked_until = user_id, until
    s.add(item)
    await s.commit()


async def claim_next_item(
    pg: Postgres,
    project_id: str,
    queue_id: str,
    user_id: str,
    *,
    hold: timedelta,
    after_item_id: str | None = None,
) -> AnnotationQueueItem | None:
    """The reviewer's next pending item, now held by them for `hold`; None when none is left to them.

    Without `after_item_id`: the item they hold, else the first in review order (theirs first, then
    oldest first). With it (skip, or the next after saving): the first item after that one in review
    order, wrapping around to the start, never that item itself.
    """
    now = utcnow()
    mine_last = case((col(Item.assigned_user_id) == user_id, 0), else_=1)
    order = (mine_last, col(Item.created_at), col(Item.id))
    async with pg.session() as s:
        base = select(Item).where(_claimable(project_id, queue_id, user_id, now))
        attempts = []
        after = None
        if after_item_id is not None:
            after = (await s.exec(select(Item).where(_item(project_id, queue_id, after_item_id)))).first()
        if after is None:
            held_first = case(
                (and_(col(Item.locked_by_user_id) == user_id, col(Item.locked_until) > now), 0), else_=1
            )
            attempts.append(base.order_by(held_first, *order))
        else:
            rank = 0 if after.assigned_user_id == user_id else 1
            others = base.where(col(Item.id) != after.id)
            key = tuple_(literal(rank), literal(after.created_at), literal(after.id))
            attempts.append(others.where(tuple_(*order) > key).order_by(*order))
            attempts.append(others.order_by(*order))
        for stmt in attempts:
            row = (await s.exec(stmt.limit(1).with_for_update(skip_locked=True))).first()
            if row is not None:
                await _hold(s, row, user_id, now + hold)
                return row
        await s.commit()
    return None


async def hold_item(
    pg: Postgres, project_id: str, queue_id: str, item_id: str, user_id: str, *, hold: timedelta
) -> ItemHold | None:
    """Open one item for the reviewer: hold it for `hold` unless another reviewer holds it (then it is
    returned as it is, `held` False). A completed item is returned without a hold. None when the queue
    has no such item."""
    now = utcnow()
    async with pg.session() as s:
        item = (
            await s.exec(select(Item).where(_item(project_id, queue_id, item_id)).with_for_update())
        ).first()
        if item is None:
            await s.commit()
            return None
        held_by_other = (
            item.locked_by_user_id not in (None, user_id)
            and item.locked_until is not None
            and item.locked_until > now
        )
        if held_by_other or item.status != ItemStatus.PENDING.value:
            await s.commit()
            return ItemHold(item, held=False)
        await _hold(s, item, user_id, now + hold)
        return ItemHold(item, held=True)


async def release_item(pg: Postgres, project_id: str, queue_id: str, item_id: str, user_id: str) -> bool:
    """End the reviewer's hold on an item; False when they held none on it."""
    stmt = (
        update(Item)
        .where(_item(project_id, queue_id, item_id), col(Item.locked_by_user_id) == user_id)
        .values(locked_by_user_id=None, locked_until=None)
    )
    async with pg.session() as s:
        result = await s.execute(stmt)
        await s.commit()
    return _changed(result) > 0
