"""Writes to the observation and trace tables, and the existence check that makes them exactly-once."""

from __future__ import annotations

from datetime import datetime

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.rows import (
    OBSERVATION_COLUMNS,
    TRACE_COLUMNS,
    ObservationRow,
    TraceRow,
    as_values,
)

_EXISTING = (
    "SELECT DISTINCT id FROM observations "
    "WHERE project_id = {project_id:String} "
    "AND start_time >= {start_min:DateTime64(6)} AND start_time <= {start_max:DateTime64(6)} "
    "AND id IN {ids:Array(String)} LIMIT {limit:UInt32}"
)


def compile_existing_ids_query(
    project_id: str, ids: list[str], start_min: datetime, start_max: datetime
) -> CompiledQuery:
    """Which of `ids` (observations starting in [start_min, start_max]) are already stored."""
    return CompiledQuery(
        sql=_EXISTING,
        parameters={
            "project_id": project_id,
            "ids": ids,
            "start_min": start_min,
            "start_max": start_max,
            "limit": len(ids),
        },
        tag="observations.existing_ids",
    )


async def fetch_existing_observation_ids(
    ch: ClickHouse, project_id: str, rows: list[ObservationRow]
) -> set[str]:
    if not rows:
        return set()
    starts = [r.start_time for r in rows]
    q = compile_existing_ids_query(project_id, [r.id for r in rows], min(starts), max(starts))
    return {str(r["id"]) for r in await ch.query(q)}


async def insert_observations(ch: ClickHouse, rows: list[ObservationRow]) -> None:
    if rows:
        await ch.insert(
            "observations", [as_values(r) for r in rows], OBSERVATION_COLUMNS, "observations.insert"
        )


async def insert_traces(ch: ClickHouse, rows: list[TraceRow]) -> None:
    if rows:
        await ch.insert("traces", [as_values(r) for r in rows], TRACE_COLUMNS, "traces.insert")
