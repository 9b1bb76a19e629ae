"""Dataset types: datasets, their versioned items and item history, inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.errors import InvalidInput
from app.evaluation import datasets as ds
from app.evaluation import experiments as ex
from app.graphql.context import Context
from app.graphql.types.common import as_json
from app.graphql.types.experiment import Experiment, ExperimentConnection, ExperimentEdge
from app.graphql.types.pagination import (
    PageInfo,
    numbered_page,
    position_after,
    position_connection,
)
from app.storage.clickhouse.queries.common import page_size


@strawberry.enum(description="Whether experiments use an item.")
class DatasetItemStatus(Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


@strawberry.type(description="One version of a dataset item: an input and the output expected for it.")
class DatasetItem:
    id: strawberry.ID = strawberry.field(description="Item id (unique in the project).")
    dataset_id: str = strawberry.field(description="Its dataset.")
    dataset_name: str = strawberry.field(description="Its dataset's name.")
    status: DatasetItemStatus = strawberry.field(description="ACTIVE or ARCHIVED (experiments skip these).")
    input: JSON | None = strawberry.field(description="Input.")
    expected_output: JSON | None = strawberry.field(description="The output expected for the input.")
    metadata: JSON | None = strawberry.field(description="Metadata.")
    source_trace_id: str | None = strawberry.field(description="The trace the item was taken from.")
    source_observation_id: str | None = strawberry.field(
        description="The observation the item was taken from."
    )
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")
    version: datetime = strawberry.field(description="When this version became current (UTC).")
    deleted: bool = strawberry.field(description="True for the version that deleted the item (history only).")

    @classmethod
    def from_view(cls, v: ds.ItemView) -> DatasetItem:
        return cls(
            id=strawberry.ID(v.id),
            dataset_id=v.dataset_id,
            dataset_name=v.dataset_name,
            status=DatasetItemStatus(v.status.value),
            input=as_json(v.input),
            expected_output=as_json(v.expected_output),
            metadata=as_json(v.metadata),
            source_trace_id=v.source_trace_id,
            source_observation_id=v.source_observation_id,
            created_at=v.created_at,
            updated_at=v.updated_at,
            version=v.version,
            deleted=v.deleted,
        )

    @strawberry.field(description="Every version of the item, newest first (deletions included).")
    async def history(self, info: Info[Context, None]) -> list[DatasetItem]:
        caller = info.context.require()
        rows = await ds.item_history(info.context.storage, caller.project_id, str(self.id))
        return [DatasetItem.from_view(r) for r in rows]


@strawberry.type(description="An item in a list, with its cursor.")
class DatasetItemEdge:
    node: DatasetItem = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of dataset items, newest first.")
class DatasetItemConnection:
    edges: list[DatasetItemEdge] = strawberry.field(description="Items with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Items matching, over every page.")


@strawberry.type(description="A named set of items (inputs with expected outputs) that experiments run over.")
class Dataset:
    id: strawberry.ID = strawberry.field(description="Dataset id.")
    name: str = strawberry.field(description="Name (unique in the project).")
    description: str | None = strawberry.field(description="Description.")
    metadata: JSON | None = strawberry.field(description="Metadata.")
    input_schema: JSON | None = strawberry.field(description="JSON Schema every item input must meet.")
    expected_output_schema: JSON | None = strawberry.field(
        description="JSON Schema every expected output must meet."
    )
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")

    @classmethod
    def from_view(cls, v: ds.DatasetView) -> Dataset:
        return cls(
            id=strawberry.ID(v.id),
            name=v.name,
            description=v.description,
            metadata=as_json(v.metadata),
            input_schema=as_json(v.input_schema),
            expected_output_schema=as_json(v.expected_output_schema),
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="Current items, active and archived.")
    async def item_count(self, info: Info[Context, None]) -> int:
        return await info.context.loaders.item_count_by_dataset.load(str(self.id))

    @strawberry.field(
        description="Items, newest first: the current versions (or those current at `version`), active ones "
        "unless `status` says otherwise, optionally only those whose text contains `search`."
    )
    async def items(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        version: datetime | None = None,
        status: list[DatasetItemStatus] | None = None,
        search: str | None = None,
    ) -> DatasetItemConnection:
        caller = info.context.require()
        if status is not None and not status:
            raise InvalidInput("status: give at least one status, or omit it")
        query = ds.ItemQuery(
            dataset_id=str(self.id),
            version=version,
            statuses=tuple(ds.ItemStatus(s.value) for s in status) if status else (ds.ItemStatus.ACTIVE,),
            search=search or None,
        )
        size, offset = page_size(first), position_after(after)

        async def fetch(page: int, limit: int) -> tuple[list[ds.ItemView], int]:
            return await ds.list_items_page(info.context.storage, caller.project_id, query, page, limit)

        rows, total = await numbered_page(fetch, offset, size)
        return position_connection(
            DatasetItemConnection, DatasetItemEdge, rows, offset, total, DatasetItem.from_view
        )

    @strawberry.field(description="Experiments run over this dataset, newest first, with their summaries.")
    async def runs(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> ExperimentConnection:
        caller = info.context.require()
        size, offset = page_size(first), position_after(after)

        async def fetch(page: int, limit: int) -> tuple[list[ex.ExperimentView], int]:
            return await ex.list_dataset_experiments(
                info.context.storage, caller.project_id, str(self.id), page, limit
            )

        rows, total = await numbered_page(fetch, offset, size)
        return position_connection(
            ExperimentConnection, ExperimentEdge, rows, offset, total, Experiment.from_view
        )


@strawberry.type(description="A dataset in a list, with its cursor.")
class DatasetEdge:
    node: Dataset = strawberry.field(description="The dataset.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of datasets, newest first.")
class DatasetConnection:
    edges: list[DatasetEdge] = strawberry.field(description="Datasets with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Datasets in the project.")


def _schema(value: Any, field: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object (a JSON Schema)")
    return value


@strawberry.input(description="A new dataset.")
class CreateDatasetInput:
    name: str = strawberry.field(description="Name (unique in the project).")
    description: str | None = strawberry.field(default=None, description="Description.")
    metadata: JSON | None = strawberry.field(default=None, description="Metadata.")
    input_schema: JSON | None = strawberry.field(
        default=None, description="JSON Schema every item input must meet."
    )
    expected_output_schema: JSON | None = strawberry.field(
        default=None, description="JSON Schema every expected output must meet."
    )

    def as_spec(self) -> ds.DatasetSpec:
        """The dataset to create; InvalidInput names a field that is not the right JSON."""
        return _dataset_spec(self.name, self)


@strawberry.input(description="Changes to a dataset: omitted (null) fields keep their value.")
class UpdateDatasetInput:
    id: strawberry.ID = strawberry.field(description="Dataset id.")
    description: str | None = strawberry.field(default=None, description="Description.")
    metadata: JSON | None = strawberry.field(default=None, description="Metadata.")
    input_schema: JSON | None = strawberry.field(
        default=None, description="JSON Schema every item input must meet."
    )
    expected_output_schema: JSON | None = strawberry.field(
        default=None, description="JSON Schema every expected output must meet."
    )

    def as_spec(self, name: str) -> ds.DatasetSpec:
        """The change to dataset `name` (None fields keep their values)."""
        return _dataset_spec(name, self)


def _dataset_spec(name: str, value: CreateDatasetInput | UpdateDatasetInput) -> ds.DatasetSpec:
    """Dataset `name` with the input's fields; InvalidInput names a schema that is not a JSON object."""
    return ds.DatasetSpec(
        name=name,
        description=value.description,
        metadata=value.metadata,
        input_schema=_schema(value.input_schema, "inputSchema"),
        expected_output_schema=_schema(value.expected_output_schema, "expectedOutputSchema"),
    )


@strawberry.input(description="A dataset to delete, with its items.")
class DeleteDatasetInput:
    id: strawberry.ID = strawberry.field(description="Dataset id.")


@strawberry.input(
    description="Create an item, or change one (by id): omitted (null) fields keep their value."
)
class UpsertDatasetItemInput:
    dataset_name: str = strawberry.field(description="The dataset.")
    id: str | None = strawberry.field(default=None, description="Item id; omit to create a new item.")
    input: JSON | None = strawberry.field(default=None, description="Input.")
    expected_output: JSON | None = strawberry.field(default=None, description="Expected output.")
    metadata: JSON | None = strawberry.field(default=None, description="Metadata.")
    source_trace_id: str | None = strawberry.field(default=None, description="The trace it comes from.")
    source_observation_id: str | None = strawberry.field(
        default=None, description="The observation it comes from."
    )
    status: DatasetItemStatus | None = strawberry.field(default=None, description="ACTIVE or ARCHIVED.")

    def as_spec(self) -> ds.ItemSpec:
        return ds.ItemSpec(
            dataset_name=self.dataset_name,
            id=self.id,
            input=self.input,
            expected_output=self.expected_output,
            metadata=self.metadata,
            source_trace_id=self.source_trace_id,
            source_observation_id=self.source_observation_id,
            status=ds.ItemStatus(self.status.value) if self.status else None,
        )


@strawberry.input(description="Archive an item (experiments skip it), or restore it.")
class ArchiveDatasetItemInput:
    id: str = strawberry.field(description="Item id.")
    archived: bool = strawberry.field(default=True, description="True to archive, false to restore.")


@strawberry.input(description="An item to delete (its history keeps the deletion).")
class DeleteDatasetItemInput:
    id: str = strawberry.field(description="Item id.")


@strawberry.input(
    description="Copy a trace (or one of its observations) into a dataset: its input becomes the item's "
    "input and its output the expected output."
)
class AddTraceToDatasetInput:
    trace_id: str = strawberry.field(description="The trace.")
    dataset_name: str = strawberry.field(description="The dataset.")
    observation_id: str | None = strawberry.field(
        default=None, description="An observation of the trace to copy instead of the trace."
    )
    item_id: str | None = strawberry.field(default=None, description="Item id; omit to create a new item.")


@strawberry.type(description="The dataset created.")
class CreateDatasetPayload:
    dataset: Dataset = strawberry.field(description="The dataset.")


@strawberry.type(description="The dataset after the change.")
class UpdateDatasetPayload:
    dataset: Dataset = strawberry.field(description="The dataset.")


@strawberry.type(description="What was deleted.")
class DeleteDatasetPayload:
    id: strawberry.ID = strawberry.field(description="The deleted dataset's id.")


@strawberry.type(description="The item after the change.")
class UpsertDatasetItemPayload:
    item: DatasetItem = strawberry.field(description="The item's new version.")


@strawberry.type(description="The item after the change.")
class ArchiveDatasetItemPayload:
    item: DatasetItem = strawberry.field(description="The item's new version.")


@strawberry.type(description="What was deleted.")
class DeleteDatasetItemPayload:
    id: strawberry.ID = strawberry.field(description="The deleted item's id.")


@strawberry.type(description="The item made from the trace.")
class AddTraceToDatasetPayload:
    item: DatasetItem = strawberry.field(description="The new item.")
