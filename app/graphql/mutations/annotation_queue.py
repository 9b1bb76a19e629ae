"""Mutation fields over annotation queues: queues, their items and reviewers (member role)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.evaluation import annotation_queues as aq
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import annotation_queue as t


@strawberry.type
class AnnotationQueueMutationMixin:
    @strawberry.mutation(
        description="Create an annotation queue (member role); the name must be new in the project.",
        permission_classes=[IsMember],
    )
    async def create_annotation_queue(
        self, info: Info[Context, None], input: t.CreateAnnotationQueueInput
    ) -> t.AnnotationQueuePayload:
        caller = info.context.require()
        queue = await aq.create_queue(info.context.storage, caller.project_id, input.as_spec())
        return t.AnnotationQueuePayload(annotation_queue=t.AnnotationQueue.from_row(queue))

    @strawberry.mutation(
        description="Rename a queue, or change its description or score configs (member role).",
        permission_classes=[IsMember],
    )
    async def update_annotation_queue(
        self, info: Info[Context, None], input: t.UpdateAnnotationQueueInput
    ) -> t.AnnotationQueuePayload:
        caller = info.context.require()
        queue = await aq.update_queue(
            info.context.storage, caller.project_id, str(input.id), input.as_change()
        )
        return t.AnnotationQueuePayload(annotation_queue=t.AnnotationQueue.from_row(queue))

    @strawberry.mutation(
        description="Delete a queue with its items and assignments; scores given through it stay "
        "(member role).",
        permission_classes=[IsMember],
    )
    async def delete_annotation_queue(
        self, info: Info[Context, None], input: t.DeleteAnnotationQueueInput
    ) -> t.DeleteAnnotationQueuePayload:
        caller = info.context.require()
        await aq.delete_queue(info.context.storage, caller.project_id, str(input.id))
        return t.DeleteAnnotationQueuePayload(id=input.id)

    @strawberry.mutation(
        description="Add traces, observations or sessions to a queue (member role); idempotent per object.",
        permission_classes=[IsMember],
    )
    async def add_annotation_queue_items(
        self, info: Info[Context, None], input: t.AddAnnotationQueueItemsInput
    ) -> t.AddAnnotationQueueItemsPayload:
        caller = info.context.require()
        kind = aq.ObjectType(input.object_type.value)
        new = [aq.NewQueueItem(object_type=kind, object_id=o) for o in input.object_ids]
        items = await aq.add_items(info.context.storage, caller.project_id, str(input.queue_id), new)
        return t.AddAnnotationQueueItemsPayload(items=[t.AnnotationQueueItem.from_row(i) for i in items])

    @strawberry.mutation(
        description="Mark a queue item COMPLETED or PENDING again (member role).",
        permission_classes=[IsMember],
    )
    async def update_annotation_queue_item(
        self, info: Info[Context, None], input: t.UpdateAnnotationQueueItemInput
    ) -> t.AnnotationQueueItemPayload:
        caller = info.context.require()
        item = await aq.set_item_status(
            info.context.storage,
            caller.project_id,
            str(input.queue_id),
            str(input.item_id),
            aq.ItemStatus(input.status.value),
            user_id=caller.user_id,
        )
        return t.AnnotationQueueItemPayload(item=t.AnnotationQueueItem.from_row(item))

    @strawberry.mutation(description="Delete a queue item (member role).", permission_classes=[IsMember])
    async def delete_annotation_queue_item(
        self, info: Info[Context, None], input: t.DeleteAnnotationQueueItemInput
    ) -> t.DeleteAnnotationQueueItemPayload:
        caller = info.context.require()
        await aq.delete_item(info.context.storage, caller.project_id, str(input.queue_id), str(input.item_id))
        return t.DeleteAnnotationQueueItemPayload(id=input.item_id)

    @strawberry.mutation(
        description="Assign a project member (not a viewer) to review a queue (member role); idempotent.",
        permission_classes=[IsMember],
    )
    async def assign_annotation_queue(
        self, info: Info[Context, None], input: t.AnnotationQueueAssignmentInput
    ) -> t.AnnotationQueueAssignmentPayload:
        caller = info.context.require()
        done = await aq.assign_user(
            info.context.storage, caller.project_id, str(input.queue_id), str(input.user_id)
        )
        return t.AnnotationQueueAssignmentPayload(
            queue_id=strawberry.ID(done.queue_id), user_id=strawberry.ID(done.user_id)
        )

    @strawberry.mutation(
        description="Remove a reviewer from a queue (member role); idempotent.", permission_classes=[IsMember]
    )
    async def unassign_annotation_queue(
        self, info: Info[Context, None], input: t.AnnotationQueueAssignmentInput
    ) -> t.AnnotationQueueAssignmentPayload:
        caller = info.context.require()
        await aq.unassign_user(
            info.context.storage, caller.project_id, str(input.queue_id), str(input.user_id)
        )
        return t.AnnotationQueueAssignmentPayload(queue_id=input.queue_id, user_id=input.user_id)
