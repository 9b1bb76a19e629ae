"""Query fields over datasets: a list, and one dataset (by name or id) with its items and runs."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.errors import InvalidInput
from app.evaluation import datasets as ds
from app.graphql.context import Context
from app.graphql.types import dataset as d
from app.graphql.types.pagination import numbered_page, position_after, position_connection
from app.storage.clickhouse.queries.common import page_size


@strawberry.type
class DatasetQueryMixin:
    @strawberry.field(description="The project's datasets.")
    async def datasets(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> d.DatasetConnection:
        caller = info.context.require()
        size, offset = page_size(first), position_after(after)

        async def fetch(page: int, limit: int) -> tuple[list[ds.DatasetView], int]:
            return await ds.list_datasets_page(info.context.storage, caller.project_id, page, limit)

        rows, total = await numbered_page(fetch, offset, size)
        return position_connection(
            d.DatasetConnection, d.DatasetEdge, rows, offset, total, d.Dataset.from_view
        )

    @strawberry.field(description="One dataset by name or by id (give exactly one); null when not found.")
    async def dataset(
        self, info: Info[Context, None], name: str | None = None, id: strawberry.ID | None = None
    ) -> d.Dataset | None:
        caller = info.context.require()
        if (name is None) == (id is None):
            raise InvalidInput("dataset: give either name or id")
        view = await ds.fetch_dataset(
            info.context.storage,
            caller.project_id,
            name=name,
            dataset_id=None if id is None else str(id),
        )
        return None if view is None else d.Dataset.from_view(view)

    @strawberry.field(description="One dataset item by id, as it is now (archived too); null when not found.")
    async def dataset_item(self, info: Info[Context, None], id: strawberry.ID) -> d.DatasetItem | None:
        caller = info.context.require()
        view = await ds.fetch_item(info.context.storage, caller.project_id, str(id))
        return None if view is None else d.DatasetItem.from_view(view)
