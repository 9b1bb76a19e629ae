"""Dataset items made from what was traced: a trace's or an observation's input and output."""

from __future__ import annotations

from typing import Any

from app.errors import NotFound
from app.evaluation import datasets
from app.storage import Storage, json_text
from app.tracing import trace_service


def _value(text: str | None) -> Any:
    """Stored input/output text as the value it encodes (text that is not JSON stays text)."""
    if text is None:
        return None
    try:
        return json_text.loads(text)
    except ValueError:
        return text


async def add_traced_item(
    storage: Storage,
    project_id: str,
    dataset_name: str,
    trace_id: str,
    observation_id: str | None = None,
    *,
    create_dataset: bool = False,
) -> datasets.ItemView:
    """A new item of the dataset: input = the trace's (or observation's) input, expected output = its
    output, source ids set. `create_dataset` creates the dataset when it does not exist. NotFound when
    the trace, the observation or the dataset is unknown."""
    detail = await trace_service.trace_detail(storage, project_id, trace_id)
    source: Any = detail.trace
    if observation_id:
        source = next((o for o in detail.observations if o.id == observation_id), None)
        if source is None:
            raise NotFound(f"observation {observation_id!r} not found in trace {trace_id!r}")
    if create_dataset:
        await datasets.upsert_dataset(storage, project_id, datasets.DatasetSpec(dataset_name))
    spec = datasets.ItemSpec(
        dataset_name=dataset_name,
        input=_value(source.input),
        expected_output=_value(source.output),
        source_trace_id=trace_id,
        source_observation_id=observation_id or None,
    )
    return await datasets.upsert_item(storage, project_id, spec)
