"""Annotation queue types: queues, their items and progress, inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.evaluation import annotation_queues as aq
from app.graphql.context import Context
from app.graphql.types.pagination import PageInfo, numbered_page, position_after, position_connection
from app.graphql.types.score_config import ScoreConfig
from app.storage.clickhouse.queries.common import page_size
from app.storage.postgres.annotation_tables import AnnotationQueue as QueueRow
from app.storage.postgres.annotation_tables import AnnotationQueueItem as ItemRow
from app.tracing.score_configs import UNCHANGED


@strawberry.enum(description="What a queue item points at.")
class AnnotationObjectType(Enum):
    TRACE = "TRACE"
    OBSERVATION = "OBSERVATION"
    SESSION = "SESSION"


@strawberry.enum(description="Whether a queue item is still to review.")
class AnnotationItemStatus(Enum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"


@strawberry.type(description="How far a queue's review has come.")
class AnnotationQueueProgress:
    total: int = strawberry.field(description="Items in the queue.")
    completed: int = strawberry.field(description="Items marked COMPLETED.")
    pending: int = strawberry.field(description="Items still PENDING.")


@strawberry.type(description="One trace, observation or session to review in a queue.")
class AnnotationQueueItem:
    id: strawberry.ID = strawberry.field(description="Item id.")
    queue_id: strawberry.ID = strawberry.field(description="Its queue.")
    object_type: AnnotationObjectType = strawberry.field(description="What it points at.")
    object_id: str = strawberry.field(
        description="The trace, observation or session id (not checked when added; read within the project)."
    )
    status: AnnotationItemStatus = strawberry.field(description="PENDING or COMPLETED.")
    completed_at: datetime | None = strawberry.field(description="When it was marked COMPLETED (UTC).")
    completed_by_user_id: str | None = strawberry.field(
        description="The user who completed it (none when completed through the API)."
    )
    assigned_user_id: str | None = strawberry.field(
        description="The reviewer it is meant for (first in their review order)."
    )
    locked_by_user_id: str | None = strawberry.field(
        description="The reviewer holding it open, while `lockedUntil` is in the future."
    )
    locked_until: datetime | None = strawberry.field(description="End of the current hold (UTC).")
    created_at: datetime = strawberry.field(description="Added (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")

    @classmethod
    def from_row(cls, i: ItemRow) -> AnnotationQueueItem:
        return cls(
            id=strawberry.ID(i.id),
            queue_id=strawberry.ID(i.queue_id),
            object_type=AnnotationObjectType(i.object_type),
            object_id=i.object_id,
            status=AnnotationItemStatus(i.status),
            completed_at=i.completed_at,
            completed_by_user_id=i.completed_by_user_id,
            assigned_user_id=i.assigned_user_id,
            locked_by_user_id=i.locked_by_user_id,
            locked_until=i.locked_until,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )


@strawberry.type(description="A queue item in a list, with its cursor.")
class AnnotationQueueItemEdge:
    node: AnnotationQueueItem = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of queue items, newest first.")
class AnnotationQueueItemConnection:
    edges: list[AnnotationQueueItemEdge] = strawberry.field(description="Items with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Items matching, over every page.")


@strawberry.type(description="A named queue of traces, observations or sessions for people to score.")
class AnnotationQueue:
    id: strawberry.ID = strawberry.field(description="Queue id.")
    name: str = strawberry.field(description="Name (unique in the project).")
    description: str | None = strawberry.field(description="Description.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")
    score_config_ids: strawberry.Private[list[str]]

    @classmethod
    def from_row(cls, q: QueueRow) -> AnnotationQueue:
        return cls(
            id=strawberry.ID(q.id),
            name=q.name,
            description=q.description,
            created_at=q.created_at,
            updated_at=q.updated_at,
            score_config_ids=list(q.score_config_ids),
        )

    @strawberry.field(description="The score configs reviewers fill in, in order (deleted ones left out).")
    async def score_configs(self, info: Info[Context, None]) -> list[ScoreConfig]:
        found = await info.context.loaders.score_config_by_id.load_many(self.score_config_ids)
        return [ScoreConfig.from_row(c) for c in found if c is not None]

    @strawberry.field(description="Done and total items.")
    async def progress(self, info: Info[Context, None]) -> AnnotationQueueProgress:
        p = await info.context.loaders.progress_by_queue.load(str(self.id))
        return AnnotationQueueProgress(total=p.total, completed=p.completed, pending=p.pending)

    @strawberry.field(description="Ids of the users assigned to review the queue, in order of assignment.")
    async def assignee_ids(self, info: Info[Context, None]) -> list[strawberry.ID]:
        found = await info.context.loaders.assignees_by_queue.load(str(self.id))
        return [strawberry.ID(u) for u in found]

    @strawberry.field(description="Items, newest first, of one status when given.")
    async def items(
        self,
        info: Info[Context, None],
        status: AnnotationItemStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> AnnotationQueueItemConnection:
        caller = info.context.require()
        wanted = None if status is None else aq.ItemStatus(status.value)
        size, offset = page_size(first), position_after(after)

        async def fetch(page: int, limit: int) -> tuple[list[ItemRow], int]:
            return await aq.list_items_page(
                info.context.storage, caller.project_id, str(self.id), wanted, page, limit
            )

        rows, total = await numbered_page(fetch, offset, size)
        return position_connection(
            AnnotationQueueItemConnection,
            AnnotationQueueItemEdge,
            rows,
            offset,
            total,
            AnnotationQueueItem.from_row,
        )


@strawberry.type(description="A queue in a list, with its cursor.")
class AnnotationQueueEdge:
    node: AnnotationQueue = strawberry.field(description="The queue.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of annotation queues, newest first.")
class AnnotationQueueConnection:
    edges: list[AnnotationQueueEdge] = strawberry.field(description="Queues with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Queues in the project.")


@strawberry.input(description="A new annotation queue.")
class CreateAnnotationQueueInput:
    name: str = strawberry.field(description="Name (unique in the project).")
    description: str | None = strawberry.field(default=None, description="Description.")
    score_config_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Score configs reviewers fill in, in this order."
    )

    def as_spec(self) -> aq.QueueSpec:
        return aq.QueueSpec(
            name=self.name,
            description=self.description,
            score_config_ids=tuple(str(c) for c in self.score_config_ids),
        )


@strawberry.input(description="Change a queue; fields left out stay as they are.")
class UpdateAnnotationQueueInput:
    id: strawberry.ID = strawberry.field(description="The queue.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description (null clears it)."
    )
    score_config_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="New score configs, in order."
    )

    def as_change(self) -> aq.QueueChange:
        return aq.QueueChange(
            name=UNCHANGED if self.name is None else self.name,
            description=UNCHANGED if self.description is strawberry.UNSET else self.description,
            score_config_ids=UNCHANGED
            if self.score_config_ids is None
            else tuple(str(c) for c in self.score_config_ids),
        )


@strawberry.input(description="A queue to delete (its items and assignments go with it; scores stay).")
class DeleteAnnotationQueueInput:
    id: strawberry.ID = strawberry.field(description="The queue.")


@strawberry.type(description="The queue after the change.")
class AnnotationQueuePayload:
    annotation_queue: AnnotationQueue = strawberry.field(description="The queue.")


@strawberry.type(description="The deleted queue's id.")
class DeleteAnnotationQueuePayload:
    id: strawberry.ID = strawberry.field(description="Deleted queue id.")


@strawberry.input(description="Objects of one type to add to a queue.")
class AddAnnotationQueueItemsInput:
    queue_id: strawberry.ID = strawberry.field(description="The queue.")
    object_type: AnnotationObjectType = strawberry.field(description="What the ids are.")
    object_ids: list[str] = strawberry.field(
        description=f"Trace, observation or session ids (at most {aq.MAX_ITEMS_PER_ADD}); one already in "
        "the queue keeps its item."
    )


@strawberry.type(description="The items of the objects added, in the order given.")
class AddAnnotationQueueItemsPayload:
    items: list[AnnotationQueueItem] = strawberry.field(description="The items.")


@strawberry.input(description="Mark a queue item COMPLETED or PENDING again.")
class UpdateAnnotationQueueItemInput:
    queue_id: strawberry.ID = strawberry.field(description="The queue.")
    item_id: strawberry.ID = strawberry.field(description="The item.")
    status: AnnotationItemStatus = strawberry.field(
        description="COMPLETED stamps completedAt (and who); PENDING clears them."
    )


@strawberry.type(description="The item after the change.")
class AnnotationQueueItemPayload:
    item: AnnotationQueueItem = strawberry.field(description="The item.")


@strawberry.input(description="A queue item to delete.")
class DeleteAnnotationQueueItemInput:
    queue_id: strawberry.ID = strawberry.field(description="The queue.")
    item_id: strawberry.ID = strawberry.field(description="The item.")


@strawberry.type(description="The deleted item's id.")
class DeleteAnnotationQueueItemPayload:
    id: strawberry.ID = strawberry.field(description="Deleted item id.")


@strawberry.input(description="A reviewer and a queue.")
class AnnotationQueueAssignmentInput:
    queue_id: strawberry.ID = strawberry.field(description="The queue.")
    user_id: strawberry.ID = strawberry.field(description="A member of the project (not a viewer).")


@strawberry.type(description="The reviewer and the queue after the change.")
class AnnotationQueueAssignmentPayload:
    queue_id: strawberry.ID = strawberry.field(description="The queue.")
    user_id: strawberry.ID = strawberry.field(description="The reviewer.")
