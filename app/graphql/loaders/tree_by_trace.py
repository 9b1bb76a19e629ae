"""Observation trees of traces (one query per trace: a trace may hold thousands of observations)."""

from __future__ import annotations

from app.storage import Storage
from app.storage.clickhouse.queries.traces import fetch_trace_observations
from app.tracing.trace_service import ObservationNode, observation_tree


async def tree_by_trace(
    storage: Storage, project_id: str, trace_ids: list[str]
) -> list[list[ObservationNode]]:
    return [
        observation_tree(await fetch_trace_observations(storage.clickhouse, project_id, t)) for t in trace_ids
    ]
