"""Datasets and their versioned items: upsert by name or id (omitted fields keep their values), JSON Schema
checks of item inputs and expected outputs, reads of the current items or of the items as of an instant.

Every change of an item writes a new version (valid_from = now) and closes the previous one; a delete
writes a tombstone. Item ids are unique per project across datasets. Every function is scoped to one project.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.errors import Conflict, InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import datasets as repo
from app.storage.postgres.tables import Dataset, DatasetItem

NAME_MAX = ITEM_ID_MAX = 255
# An SDK reading a dataset asks for every page with the same filter: the count is kept in Redis under a
# per-project generation that every item change bumps after it commits, so it never outlives a change.
COUNT_TTL_SECONDS = 60


def _generation_key(project_id: str) -> str:
    return f"dataset-items:generation:{project_id}"


async def _items_changed(storage: Storage, project_id: str) -> None:
    await storage.cache.bump(_generation_key(project_id))


class ItemStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A dataset to create or update by name; None keeps what is stored (or stores nothing when new)."""

    name: str
    description: str | None = None
    metadata: Any = None
    input_schema: dict[str, Any] | None = None
    expected_output_schema: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DatasetView:
    id: str
    project_id: str
    name: str
    description: str | None
    metadata: Any
    input_schema: dict[str, Any] | None
    expected_output_schema: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """An item to create or update by id (None: a new uuid4 hex id); None fields keep the stored values."""

    dataset_name: str
    id: str | None = None
    input: Any = None
    expected_output: Any = None
    metadata: Any = None
    source_trace_id: str | None = None
    source_observation_id: str | None = None
    status: ItemStatus | None = None  # None = keep (merge); ACTIVE for a new item


@dataclass(frozen=True, slots=True)
class ItemView:
    """One version of an item: `version` is when it became current; `updated_at` equals it."""

    id: str
    dataset_id: str
    dataset_name: str
    status: ItemStatus
    input: Any
    expected_output: Any
    metadata: Any
    source_trace_id: str | None
    source_observation_id: str | None
    created_at: datetime
    updated_at: datetime
    version: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Items of a dataset (dataset_id "" and no dataset_name: every dataset of the project), current or as
    of `version`."""

    dataset_id: str
    version: datetime | None = None
    statuses: tuple[ItemStatus, ...] = (ItemStatus.ACTIVE,)
    source_trace_id: str | None = None
    source_observation_id: str | None = None
    search: str | None = None  # a substring of the input, expected output or metadata JSON text
    dataset_name: str | None = None  # given: the dataset by name (dataset_id is then ignored)


# -- pure rules ----------------------------------------------------------------------------------


def refuse_nul(field: str, value: Any) -> None:
    """InvalidInput naming `field` when any string in `value` (keys included) holds a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(f"{field} must not contain a NUL character (\\x00)")
    elif isinstance(value, dict):
        for key, inner in value.items():
            refuse_nul(field, key)
            refuse_nul(field, inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            refuse_nul(field, inner)


def validate_name(name: str) -> str:
    """A dataset name: 1 to 255 characters, no NUL."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name is required: a non-empty string")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name must be at most {NAME_MAX} characters")
    refuse_nul("name", name)
    return name


def validate_item_id(item_id: str | None) -> str:
    """The item id as given (1 to 255 characters), or a new uuid4 hex when absent."""
    if item_id is None:
        return uuid.uuid4().hex
    if not 1 <= len(item_id) <= ITEM_ID_MAX:
        raise InvalidInput(f"id must be 1 to {ITEM_ID_MAX} characters")
    refuse_nul("id", item_id)
    return item_id


def check_schema(field: str, schema: dict[str, Any] | None) -> None:
    """InvalidInput naming `field` when `schema` is not a valid JSON Schema."""
    if schema is None:
        return
    if not isinstance(schema, dict):
        raise InvalidInput(f"{field} must be a JSON Schema object")
    from jsonschema import exceptions, validators  # imported on use: idle processes do not load it

    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        raise InvalidInput(f"{field} is not a valid JSON Schema: {exc.message}") from exc


def json_path(field: str, path: Any) -> str:
    """`input`, `input.question`, `input.items[0].name`: where in a field a value sits."""
    out = field
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_against(field: str, value: Any, schema: dict[str, Any] | None) -> None:
    """InvalidInput naming the failing JSON path when `value` does not match `schema` (None: no check)."""
    if schema is None or value is None:
        return
    from jsonschema import exceptions, validators

    validator = validators.validator_for(schema)(schema)
    error = exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        raise InvalidInput(f"{json_path(field, error.absolute_path)}: {error.message}")


def merge_item(
    spec: ItemSpec, item_id: str, dataset: DatasetView, current: DatasetItem | None
) -> DatasetItem:
    """The next version of an item: `spec` over `current` (None fields keep), checked against the schemas.
    Conflict when the id is current in another dataset."""
    if current is not None and current.dataset_id != dataset.id:
        raise Conflict(
            f"dataset item {item_id!r} belongs to another dataset; item ids are unique per project"
        )

    def keep(new: Any, attr: str) -> Any:
        return new if new is not None or current is None else getattr(current, attr)

    status = spec.status or (ItemStatus(current.status) if current is not None else ItemStatus.ACTIVE)
    row = DatasetItem(
        project_id=dataset.project_id,
        item_id=item_id,
        dataset_id=dataset.id,
        status=status.value,
        input=keep(spec.input, "input"),
        expected_output=keep(spec.expected_output, "expected_output"),
        metadata_=keep(spec.metadata, "metadata_"),
        source_trace_id=keep(spec.source_trace_id, "source_trace_id"),
        source_observation_id=keep(spec.source_observation_id, "source_observation_id"),
        is_deleted=False,
    )
    if current is not None:
        row.created_at = current.created_at
    check_against("input", row.input, dataset.input_schema)
    check_against("expected_output", row.expected_output, dataset.expected_output_schema)
    return row


def _refuse_nul_item(spec: ItemSpec) -> None:
    for field, value in (
        ("input", spec.input),
        ("expected_output", spec.expected_output),
        ("metadata", spec.metadata),
        ("source_trace_id", spec.source_trace_id),
        ("source_observation_id", spec.source_observation_id),
    ):
        refuse_nul(field, value)


def _dataset_view(d: Dataset) -> DatasetView:
    return DatasetView(
        d.id,
        d.project_id,
        d.name,
        d.description,
        d.metadata_,
        d.input_schema,
        d.expected_output_schema,
        d.created_at,
        d.updated_at,
    )


def _item_view(row: DatasetItem, dataset_name: str) -> ItemView:
    return ItemView(
        id=row.item_id,
        dataset_id=row.dataset_id,
        dataset_name=dataset_name,
        status=ItemStatus(row.status),
        input=row.input,
        expected_output=row.expected_output,
        metadata=row.metadata_,
        source_trace_id=row.source_trace_id,
        source_observation_id=row.source_observation_id,
        created_at=row.created_at,
        updated_at=row.valid_from,
        version=row.valid_from,
        deleted=row.is_deleted,
    )


# -- datasets ------------------------------------------------------------------------------------


async def upsert_dataset(storage: Storage, project_id: str, spec: DatasetSpec) -> DatasetView:
    """Create the dataset `spec.name`, or update the one of that name (None fields keep their values)."""
    name = validate_name(spec.name)
    for field, value in (("description", spec.description), ("metadata", spec.metadata)):
        refuse_nul(field, value)
    check_schema("input_schema", spec.input_schema)
    check_schema("expected_output_schema", spec.expected_output_schema)
    changes = {
        key: value
        for key, value in (
            ("description", spec.description),
            ("metadata_", spec.metadata),
            ("input_schema", spec.input_schema),
            ("expected_output_schema", spec.expected_output_schema),
        )
        if value is not None
    }
    return _dataset_view(await repo.upsert_dataset(storage.postgres, project_id, name, changes))


async def fetch_dataset(
    storage: Storage, project_id: str, *, name: str | None = None, dataset_id: str | None = None
) -> DatasetView | None:
    """One dataset by name or by id; None when the project has none such."""
    if name is None and dataset_id is None:
        raise InvalidInput("a dataset name or id is required")
    for field, value in (("name", name), ("dataset_id", dataset_id)):
        refuse_nul(field, value)
    found = await repo.fetch_dataset(storage.postgres, project_id, name=name, dataset_id=dataset_id)
    return None if found is None else _dataset_view(found)


async def list_datasets_page(
    storage: Storage, project_id: str, page: int, limit: int
) -> tuple[list[DatasetView], int]:
    """A page (1-based) of the project's datasets, newest first, and how many there are."""
    rows = await repo.list_datasets(storage.postgres, project_id, limit, (page - 1) * limit)
    total = await repo.count_datasets(storage.postgres, project_id)
    return [_dataset_view(d) for d in rows], total


async def delete_dataset(storage: Storage, project_id: str, dataset_id: str) -> bool:
    """Delete a dataset and every version of its items; False when there is no such dataset."""
    deleted = await repo.delete_dataset(storage.postgres, project_id, dataset_id)
    await _items_changed(storage, project_id)
    return deleted


# -- items ---------------------------------------------------------------------------------------


async def upsert_item(storage: Storage, project_id: str, spec: ItemSpec) -> ItemView:
    """Write the next version of item `spec.id` in dataset `spec.dataset_name` (a new item when absent).
    NotFound: no such dataset. Conflict: the id is an item of another dataset. InvalidInput: the merged
    input or expected output breaks the dataset's schema (the message names the failing JSON path)."""
    item_id = validate_item_id(spec.id)
    _refuse_nul_item(spec)
    dataset = await fetch_dataset(storage, project_id, name=validate_name(spec.dataset_name))
    if dataset is None:
        raise NotFound(f"dataset {spec.dataset_name!r} not found")

    def build(current: DatasetItem | None) -> DatasetItem:
        return merge_item(spec, item_id, dataset, current)

    row = await repo.write_item_version(storage.postgres, project_id, item_id, build)
    await _items_changed(storage, project_id)
    return _item_view(row, dataset.name)


async def add_items(storage: Storage, project_id: str, dataset_name: str, specs: list[ItemSpec]) -> int:
    """Create many new items in dataset `dataset_name` at once (an import): all or none. Conflict when an
    id is already an item of the project; InvalidInput names the item (by position) that breaks a rule."""
    dataset = await fetch_dataset(storage, project_id, name=validate_name(dataset_name))
    if dataset is None:
        raise NotFound(f"dataset {dataset_name!r} not found")
    rows = []
    for n, spec in enumerate(specs):
        try:
            _refuse_nul_item(spec)
            rows.append(merge_item(spec, validate_item_id(spec.id), dataset, None))
        except InvalidInput as exc:
            raise InvalidInput(f"item {n}: {exc}") from exc
    added = await repo.insert_new_items(storage.postgres, rows)
    await _items_changed(storage, project_id)
    return added


async def fetch_item(storage: Storage, project_id: str, item_id: str) -> ItemView | None:
    """The current version of an item, archived ones too; None when unknown or deleted."""
    refuse_nul("id", item_id)
    found = await repo.fetch_item(storage.postgres, project_id, item_id)
    return None if found is None else _item_view(*found)


async def list_items_page(
    storage: Storage, project_id: str, query: ItemQuery, page: int, limit: int
) -> tuple[list[ItemView], int]:
    """A page (1-based) of items, newest item first, and how many match. NotFound: no such dataset."""
    for field, value in (
        ("source_trace_id", query.source_trace_id),
        ("source_observation_id", query.source_observation_id),
        ("search", query.search),
        ("dataset_name", query.dataset_name),
    ):
        refuse_nul(field, value)
    f = repo.ItemFilter(
        dataset_id=(query.dataset_id or None) if query.dataset_name is None else None,
        dataset_name=query.dataset_name,
        as_of=query.version,
        statuses=tuple(s.value for s in query.statuses),
        source_trace_id=query.source_trace_id,
        source_observation_id=query.source_observation_id,
        search=query.search,
    )
    generation, _ = await storage.cache.counter(_generation_key(project_id))
    digest = hashlib.sha256(repr(f).encode()).hexdigest()
    count_key = f"dataset-items:count:{project_id}:{generation}:{digest}"
    cached = await storage.cache.get(count_key)
    total_cached = None if cached is None else cached.get("total")
    known = total_cached if isinstance(total_cached, int) else None
    found = await repo.list_items_page(
        storage.postgres, project_id, f, limit, (page - 1) * limit, known_total=known
    )
    if found is None:
        raise NotFound(f"dataset {query.dataset_name or query.dataset_id!r} not found")
    rows, total = found
    if known is None:
        await storage.cache.set(count_key, {"total": total}, COUNT_TTL_SECONDS)
    return [_item_view(*r) for r in rows], total


async def delete_item(storage: Storage, project_id: str, item_id: str) -> bool:
    """Delete an item by writing a tombstone version; False when unknown or already deleted."""
    refuse_nul("id", item_id)
    deleted = await repo.delete_item(storage.postgres, project_id, item_id)
    await _items_changed(storage, project_id)
    return deleted


async def item_history(storage: Storage, project_id: str, item_id: str) -> list[ItemView]:
    """Every version of an item, newest first; tombstones have deleted=True."""
    refuse_nul("id", item_id)
    return [_item_view(*r) for r in await repo.item_history(storage.postgres, project_id, item_id)]


async def item_counts(storage: Storage, project_id: str, dataset_ids: list[str]) -> dict[str, int]:
    """How many current items (ACTIVE and ARCHIVED) each dataset holds; every id asked for is a key."""
    counts = await repo.item_counts(storage.postgres, project_id, dataset_ids)
    return {dataset_id: counts.get(dataset_id, 0) for dataset_id in dataset_ids}
