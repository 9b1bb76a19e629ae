"""Dataset items made from traces: a trace's (or one observation's) input and output become an item's
input and expected output, linked back to where they came from."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import InvalidInput, NotFound
from app.evaluation.datasets import DatasetSpec, ItemSpec, ItemView, upsert_dataset, upsert_item
from app.storage import Storage
from app.storage.clickhouse.queries.observations import fetch_observation
from app.storage.clickhouse.queries.views import json_or_text
from app.tracing.trace_service import fetch_trace


@dataclass(frozen=True, slots=True)
class TraceItemSpec:
    """Which trace (or observation of it) to copy into which dataset; `item_id` None makes a new item."""

    trace_id: str
    dataset_name: str
    observation_id: str | None = None
    item_id: str | None = None
    create_dataset: bool = False  # create the dataset (by name) when it does not exist


async def add_trace_to_dataset(storage: Storage, project_id: str, spec: TraceItemSpec) -> ItemView:
    """Copy the trace's (or observation's) input and output into a dataset item of the project.

    NotFound names `traceId` or `observationId` when either is unknown in the project (or the observation
    belongs to another trace); errors of the item itself (unknown dataset, schema) come from upsert_item.
    """
    if not spec.trace_id:
        raise InvalidInput("traceId must not be empty")
    if spec.observation_id:
        observation = await fetch_observation(storage.clickhouse, project_id, spec.observation_id)
        if observation is None or observation.trace_id != spec.trace_id:
            raise NotFound(
                f"observationId: observation {spec.observation_id!r} not found in trace {spec.trace_id!r}"
            )
        source_input, source_output = observation.input, observation.output
    else:
        trace = await fetch_trace(storage, project_id, spec.trace_id)
        if trace is None:
            raise NotFound(f"traceId: trace {spec.trace_id!r} not found")
        source_input, source_output = trace.input, trace.output
    if spec.create_dataset:
        await upsert_dataset(storage, project_id, DatasetSpec(spec.dataset_name))
    return await upsert_item(
        storage,
        project_id,
        ItemSpec(
            dataset_name=spec.dataset_name,
            id=spec.item_id,
            input=json_or_text(source_input),
            expected_output=json_or_text(source_output),
            source_trace_id=spec.trace_id,
            source_observation_id=spec.observation_id or None,
        ),
    )
