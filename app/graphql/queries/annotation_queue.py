"""Query fields over annotation queues: a list, and one queue by id."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import NotFound
from app.evaluation import annotation_queues as aq
from app.graphql.context import Context
from app.graphql.types import annotation_queue as t
from app.graphql.types.pagination import numbered_page, position_after, position_connection
from app.storage.clickhouse.queries.common import page_size
from app.storage.postgres.annotation_tables import AnnotationQueue as QueueRow


@strawberry.type
class AnnotationQueueQueryMixin:
    @strawberry.field(description="The project's annotation queues, newest first.")
    async def annotation_queues(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> t.AnnotationQueueConnection:
        caller = info.context.require()
        size, offset = page_size(first), position_after(after)

        async def fetch(page: int, limit: int) -> tuple[list[QueueRow], int]:
            return await aq.list_queues_page(info.context.storage, caller.project_id, page, limit)

        rows, total = await numbered_page(fetch, offset, size)
        return position_connection(
            t.AnnotationQueueConnection,
            t.AnnotationQueueEdge,
            rows,
            offset,
            total,
            t.AnnotationQueue.from_row,
        )

    @strawberry.field(description="One annotation queue by id; null when the project has none such.")
    async def annotation_queue(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> t.AnnotationQueue | None:
        caller = info.context.require()
        try:
            queue = await aq.get_queue(info.context.storage, caller.project_id, str(id))
        except NotFound:
            return None
        return t.AnnotationQueue.from_row(queue)
