"""Mutation fields over datasets and their items (member role): create, change, archive, delete, and
items made from traces."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import strawberry
from strawberry.types import Info

from app.errors import Conflict, InvalidInput, NotFound
from app.evaluation import datasets as ds
from app.evaluation.trace_items import TraceItemSpec, add_trace_to_dataset
from app.graphql.context import Context
from app.graphql.permissions import IsMember
from app.graphql.types import dataset as d

# The domain names fields as Python does; clients know them by their GraphQL names.
_GRAPHQL_NAMES = {
    "input_schema": "inputSchema",
    "expected_output_schema": "expectedOutputSchema",
    "expected_output": "expectedOutput",
    "source_trace_id": "sourceTraceId",
    "source_observation_id": "sourceObservationId",
}


@contextmanager
def _graphql_names() -> Iterator[None]:
    """Name the field of an InvalidInput as the GraphQL input does."""
    try:
        yield
    except InvalidInput as exc:
        text = str(exc)
        for snake, camel in _GRAPHQL_NAMES.items():
            if text.startswith(snake):
                raise InvalidInput(camel + text[len(snake) :]) from exc
        raise


async def _dataset(info: Info[Context, None], project_id: str, dataset_id: str) -> ds.DatasetView:
    view = await ds.fetch_dataset(info.context.storage, project_id, dataset_id=dataset_id)
    if view is None:
        raise NotFound(f"id: dataset {dataset_id!r} not found")
    return view


async def _item(info: Info[Context, None], project_id: str, item_id: str) -> ds.ItemView:
    view = await ds.fetch_item(info.context.storage, project_id, item_id)
    if view is None:
        raise NotFound(f"id: dataset item {item_id!r} not found")
    return view


@strawberry.type
class DatasetMutationMixin:
    @strawberry.mutation(description="Create a dataset (member role).", permission_classes=[IsMember])
    async def create_dataset(
        self, info: Info[Context, None], input: d.CreateDatasetInput
    ) -> d.CreateDatasetPayload:
        caller = info.context.require()
        spec = input.as_spec()
        if await ds.fetch_dataset(info.context.storage, caller.project_id, name=spec.name) is not None:
            raise Conflict(
                f"name: a dataset named {spec.name!r} already exists; change it with updateDataset"
            )
        with _graphql_names():
            view = await ds.upsert_dataset(info.context.storage, caller.project_id, spec)
        return d.CreateDatasetPayload(dataset=d.Dataset.from_view(view))

    @strawberry.mutation(
        description="Change a dataset's description, metadata or schemas (member role).",
        permission_classes=[IsMember],
    )
    async def update_dataset(
        self, info: Info[Context, None], input: d.UpdateDatasetInput
    ) -> d.UpdateDatasetPayload:
        caller = info.context.require()
        current = await _dataset(info, caller.project_id, str(input.id))
        with _graphql_names():
            view = await ds.upsert_dataset(
                info.context.storage, caller.project_id, input.as_spec(current.name)
            )
        return d.UpdateDatasetPayload(dataset=d.Dataset.from_view(view))

    @strawberry.mutation(
        description="Delete a dataset with its items (member role).", permission_classes=[IsMember]
    )
    async def delete_dataset(
        self, info: Info[Context, None], input: d.DeleteDatasetInput
    ) -> d.DeleteDatasetPayload:
        caller = info.context.require()
        if not await ds.delete_dataset(info.context.storage, caller.project_id, str(input.id)):
            raise NotFound(f"id: dataset {str(input.id)!r} not found")
        return d.DeleteDatasetPayload(id=input.id)

    @strawberry.mutation(
        description="Create a dataset item, or change one by id; each change is a new version (member role).",
        permission_classes=[IsMember],
    )
    async def upsert_dataset_item(
        self, info: Info[Context, None], input: d.UpsertDatasetItemInput
    ) -> d.UpsertDatasetItemPayload:
        caller = info.context.require()
        with _graphql_names():
            view = await ds.upsert_item(info.context.storage, caller.project_id, input.as_spec())
        return d.UpsertDatasetItemPayload(item=d.DatasetItem.from_view(view))

    @strawberry.mutation(
        description="Archive a dataset item, or restore it (member role).", permission_classes=[IsMember]
    )
    async def archive_dataset_item(
        self, info: Info[Context, None], input: d.ArchiveDatasetItemInput
    ) -> d.ArchiveDatasetItemPayload:
        caller = info.context.require()
        current = await _item(info, caller.project_id, input.id)
        status = ds.ItemStatus.ARCHIVED if input.archived else ds.ItemStatus.ACTIVE
        spec = ds.ItemSpec(dataset_name=current.dataset_name, id=current.id, status=status)
        view = await ds.upsert_item(info.context.storage, caller.project_id, spec)
        return d.ArchiveDatasetItemPayload(item=d.DatasetItem.from_view(view))

    @strawberry.mutation(
        description="Delete a dataset item; its history keeps the deletion (member role).",
        permission_classes=[IsMember],
    )
    async def delete_dataset_item(
        self, info: Info[Context, None], input: d.DeleteDatasetItemInput
    ) -> d.DeleteDatasetItemPayload:
        caller = info.context.require()
        if not await ds.delete_item(info.context.storage, caller.project_id, input.id):
            raise NotFound(f"id: dataset item {input.id!r} not found")
        return d.DeleteDatasetItemPayload(id=strawberry.ID(input.id))

    @strawberry.mutation(
        description="Copy a trace's (or an observation's) input and output into a new dataset item "
        "(member role).",
        permission_classes=[IsMember],
    )
    async def add_trace_to_dataset(
        self, info: Info[Context, None], input: d.AddTraceToDatasetInput
    ) -> d.AddTraceToDatasetPayload:
        caller = info.context.require()
        spec = TraceItemSpec(input.trace_id, input.dataset_name, input.observation_id, input.item_id)
        with _graphql_names():
            view = await add_trace_to_dataset(info.context.storage, caller.project_id, spec)
        return d.AddTraceToDatasetPayload(item=d.DatasetItem.from_view(view))
