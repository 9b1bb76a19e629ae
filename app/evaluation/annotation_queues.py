"""Annotation queues: create, change, list and read queues; add, list, complete and delete their items;
assign reviewers; claim and hold items for review.

Every function is scoped to one project. What an item points at is not looked up here (the public API
does not check it, as Langfuse does not); whoever shows an item reads its object within the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from app.errors import Conflict, InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres import annotation_queues as repo
from app.storage.postgres.annotation_queues import ItemHold, NewQueueItem, QueueProgress
from app.storage.postgres.annotation_tables import (
    AnnotationQueue,
    AnnotationQueueAssignment,
    AnnotationQueueItem,
    ItemStatus,
    ObjectType,
)
from app.storage.postgres.tables import Role
from app.tracing.score_configs import UNCHANGED, Unchanged, fetch_configs

__all__ = [
    "ItemHold",
    "ItemStatus",
    "NewQueueItem",
    "ObjectType",
    "QueueChange",
    "QueueProgress",
    "QueueSpec",
]

NAME_MAX = 255
OBJECT_ID_MAX = 512
MAX_ITEMS_PER_ADD = 1000
MAX_CONFIGS = 50


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A new queue: its name (unique in the project), a description, and the score configs reviewers
    fill in, in the order shown."""

    name: str
    description: str | None = None
    score_config_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueChange:
    """What may change on a queue; UNCHANGED leaves a field as it is (a description of None clears it)."""

    name: str | Unchanged = UNCHANGED
    description: str | Unchanged | None = UNCHANGED
    score_config_ids: tuple[str, ...] | Unchanged = UNCHANGED


def object_type(value: object, field: str = "objectType") -> ObjectType:
    """The object type named by `value`; InvalidInput naming `field` otherwise."""
    if isinstance(value, str) and value in ObjectType.__members__:
        return ObjectType(value)
    raise InvalidInput(f"{field} must be one of {', '.join(ObjectType)}")


def item_status(value: object, field: str = "status") -> ItemStatus:
    """The item status named by `value`; InvalidInput naming `field` otherwise."""
    if isinstance(value, str) and value in ItemStatus.__members__:
        return ItemStatus(value)
    raise InvalidInput(f"{field} must be one of {', '.join(ItemStatus)}")


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"name is required (1 to {NAME_MAX} characters)")
    return name


async def _config_ids(storage: Storage, project_id: str, ids: Sequence[str]) -> list[str]:
    """The ids in order without repeats; InvalidInput naming an id the project has no live config of."""
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_CONFIGS:
        raise InvalidInput(f"scoreConfigIds: at most {MAX_CONFIGS} score configs per queue")
    found = await fetch_configs(storage, project_id, unique)
    for config_id in unique:
        config = found.get(config_id)
        if config is None:
            raise InvalidInput(f"scoreConfigIds: no score config {config_id!r} in this project")
        if config.is_archived:
            raise InvalidInput(f"scoreConfigIds: score config {config.name!r} is archived")
    return unique


def _taken(name: str) -> InvalidInput:
    # Langfuse answers a duplicate name with 400, and the SDK's client expects that.
    return InvalidInput(f"name: an annotation queue named {name!r} exists in this project")


async def create_queue(storage: Storage, project_id: str, spec: QueueSpec) -> AnnotationQueue:
    """Store a new queue; InvalidInput for a taken name or a score config the project lacks."""
    queue = AnnotationQueue(
        project_id=project_id,
        name=_name(spec.name),
        description=spec.description,
        score_config_ids=await _config_ids(storage, project_id, spec.score_config_ids),
    )
    try:
        return await repo.create_queue(storage.postgres, queue)
    except Conflict:
        raise _taken(queue.name) from None


async def update_queue(
    storage: Storage, project_id: str, queue_id: str, change: QueueChange
) -> AnnotationQueue:
    """Rename, describe or change the configs of a queue; NotFound, or InvalidInput as for a new one."""
    changes: dict[str, object] = {}
    if not isinstance(change.name, Unchanged):
        changes["name"] = _name(change.name)
    if not isinstance(change.description, Unchanged):
        changes["description"] = change.description
    if not isinstance(change.score_config_ids, Unchanged):
        changes["score_config_ids"] = await _config_ids(storage, project_id, change.score_config_ids)
    try:
        queue = await repo.update_queue(storage.postgres, project_id, queue_id, changes)
    except Conflict:
        raise _taken(str(changes.get("name"))) from None
    if queue is None:
        raise NotFound(f"annotation queue {queue_id!r} not found")
    return queue


async def delete_queue(storage: Storage, project_id: str, queue_id: str) -> None:
    """Delete a queue with its items and assignments (scores given through it stay); NotFound."""
    if not await repo.delete_queue(storage.postgres, project_id, queue_id):
        raise NotFound(f"annotation queue {queue_id!r} not found")


async def get_queue(storage: Storage, project_id: str, queue_id: str) -> AnnotationQueue:
    queue = await repo.fetch_queue(storage.postgres, project_id, queue_id)
    if queue is None:
        raise NotFound(f"annotation queue {queue_id!r} not found")
    return queue


async def list_queues_page(
    storage: Storage, project_id: str, page: int, limit: int, first_for: str | None = None
) -> tuple[list[AnnotationQueue], int]:
    """Page `page` (from 1) of the project's queues, newest first (those assigned to `first_for` before
    the others), and how many there are."""
    rows = await repo.list_queues(storage.postgres, project_id, limit, (page - 1) * limit, first_for)
    return rows, await repo.count_queues(storage.postgres, project_id)


async def progress(storage: Storage, project_id: str, queue_ids: Sequence[str]) -> dict[str, QueueProgress]:
    """Done and total items of each queue."""
    return await repo.progress_of(storage.postgres, project_id, queue_ids)


def _checked(new: NewQueueItem) -> NewQueueItem:
    if not new.object_id or len(new.object_id) > OBJECT_ID_MAX:
        raise InvalidInput(f"objectId is required (1 to {OBJECT_ID_MAX} characters)")
    return new


async def add_items(
    storage: Storage, project_id: str, queue_id: str, new: Sequence[NewQueueItem]
) -> list[AnnotationQueueItem]:
    """Add objects to a queue (at most MAX_ITEMS_PER_ADD at once) and return their items in the order
    given; an object already in the queue keeps its item. NotFound for an unknown queue."""
    if len(new) > MAX_ITEMS_PER_ADD:
        raise InvalidInput(f"at most {MAX_ITEMS_PER_ADD} objects can be added at once")
    items = await repo.add_items(storage.postgres, project_id, queue_id, [_checked(n) for n in new])
    if items is None:
        raise NotFound(f"annotation queue {queue_id!r} not found")
    return items


async def get_item(storage: Storage, project_id: str, queue_id: str, item_id: str) -> AnnotationQueueItem:
    """One item of a queue; NotFound naming the queue or the item that is missing."""
    item = await repo.fetch_item(storage.postgres, project_id, queue_id, item_id)
    if item is None:
        await get_queue(storage, project_id, queue_id)
        raise NotFound(f"annotation queue item {item_id!r} not found")
    return item


async def list_items_page(
    storage: Storage, project_id: str, queue_id: str, status: ItemStatus | None, page: int, limit: int
) -> tuple[list[AnnotationQueueItem], int]:
    """Page `page` (from 1) of a queue's items, newest first, of one status when given, and how many
    there are; NotFound for an unknown queue."""
    await get_queue(storage, project_id, queue_id)
    pg = storage.postgres
    rows = await repo.list_items(
        pg, project_id, queue_id, status=status, limit=limit, offset=(page - 1) * limit
    )
    return rows, await repo.count_items(pg, project_id, queue_id, status=status)


async def set_item_status(
    storage: Storage,
    project_id: str,
    queue_id: str,
    item_id: str,
    status: ItemStatus,
    user_id: str | None = None,
) -> AnnotationQueueItem:
    """Mark an item COMPLETED (stamping when, and by `user_id`) or PENDING again; NotFound."""
    item = await repo.set_item_status(
        storage.postgres, project_id, queue_id, item_id, status, user_id=user_id
    )
    if item is None:
        return await get_item(storage, project_id, queue_id, item_id)  # raises NotFound
    return item


async def delete_item(storage: Storage, project_id: str, queue_id: str, item_id: str) -> None:
    if not await repo.delete_item(storage.postgres, project_id, queue_id, item_id):
        await get_item(storage, project_id, queue_id, item_id)  # raises NotFound


async def assign_user(
    storage: Storage, project_id: str, queue_id: str, user_id: str
) -> AnnotationQueueAssignment:
    """Assign a reviewer to a queue (idempotent). NotFound for an unknown queue or a user who is not a
    member of the project; InvalidInput for a viewer (viewers cannot annotate)."""
    access = await accounts.fetch_project_access(storage.postgres, user_id, project_id)
    if access is None:
        raise NotFound(f"user {user_id!r} is not a member of this project")
    if not access.role.at_least(Role.MEMBER):
        raise InvalidInput(
            f"userId: user {user_id!r} has the viewer role in this project; viewers cannot annotate"
        )
    assignment = await repo.assign(storage.postgres, project_id, queue_id, user_id)
    if assignment is None:
        raise NotFound(f"annotation queue {queue_id!r} not found")
    return assignment


async def unassign_user(storage: Storage, project_id: str, queue_id: str, user_id: str) -> None:
    """Remove a reviewer from a queue (idempotent); NotFound for an unknown queue."""
    await get_queue(storage, project_id, queue_id)
    await repo.unassign(storage.postgres, project_id, queue_id, user_id)


async def assignees(storage: Storage, project_id: str, queue_ids: Sequence[str]) -> dict[str, list[str]]:
    """The user ids assigned to each queue."""
    return await repo.assignees_of(storage.postgres, project_id, queue_ids)


def _hold(storage: Storage) -> timedelta:
    return timedelta(seconds=storage.settings.annotation_hold_seconds)


async def claim_next(
    storage: Storage, project_id: str, queue_id: str, user_id: str, after_item_id: str | None = None
) -> AnnotationQueueItem | None:
    """The reviewer's next pending item, held for them (LANGHOUSE_ANNOTATION_HOLD_SECONDS); None when the
    queue has none left for them. `after_item_id`: the item just saved or skipped (see
    app.storage.postgres.annotation_queues.claim_next_item). NotFound for an unknown queue."""
    item = await repo.claim_next_item(
        storage.postgres, project_id, queue_id, user_id, hold=_hold(storage), after_item_id=after_item_id
    )
    if item is None:
        await get_queue(storage, project_id, queue_id)
    return item


async def open_item(storage: Storage, project_id: str, queue_id: str, item_id: str, user_id: str) -> ItemHold:
    """Open one item for review: held for the reviewer unless someone else holds it; NotFound."""
    hold = await repo.hold_item(storage.postgres, project_id, queue_id, item_id, user_id, hold=_hold(storage))
    if hold is None:
        await get_item(storage, project_id, queue_id, item_id)  # raises NotFound
        raise NotFound(f"annotation queue item {item_id!r} not found")
    return hold


async def release_item(storage: Storage, project_id: str, queue_id: str, item_id: str, user_id: str) -> None:
    """End the reviewer's hold on an item (leaving the annotate view); nothing when they hold none."""
    await repo.release_item(storage.postgres, project_id, queue_id, item_id, user_id)
