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
    "SELECT trace_id, id FROM observations "
    "WHERE project_id = {project_id:String} "
    "AND start_time >= {start_min:DateTime64(6)} AND start_time <= {start_max:DateTime64(6)} "
    "AND id IN {ids:Array(String)} AND trace_id IN {trace_ids:Array(String)} "
    "GROUP BY trace_id, id HAVING sum(sign) > 0 LIMIT {limit:UInt32}"
)


def compile_existing_ids_query(
    project_id: str, ids: list[str], trace_ids: list[str], start_min: datetime, start_max: datetime
) -> CompiledQuery:
    """Which (trace_id, id) of these observations (starting in [start_min, start_max]) are already stored."""
    return CompiledQuery(
        sql=_EXISTING,
        parameters={
            "project_id": project_id,
            "ids": ids,
            "trace_ids": trace_ids,
            "start_min": start_min,
            "start_max": start_max,
            "limit": len(ids) * 2,
        },
        tag="observations.existing_ids",
    )


async def fetch_existing_observation_keys(
    ch: ClickHouse, project_id: str, rows: list[ObservationRow]
) -> set[tuple[str, str]]:
    """The (trace_id, id) pairs of `rows` already stored (span ids are unique within a trace)."""
    if not rows:
        return set()
    starts = [r.start_time for r in rows]
    ids = sorted({r.id for r in rows})
    trace_ids = sorted({r.trace_id for r in rows})
    q = compile_existing_ids_query(project_id, ids, trace_ids, min(starts), max(starts))
    return {(str(r["trace_id"]), str(r["id"])) for r in await ch.query(q)}


async def insert_observations(ch: ClickHouse, rows: list[ObservationRow]) -> None:
    if rows:
        await ch.insert(
            "observations", [as_values(r) for r in rows], OBSERVATION_COLUMNS, "observations.insert"
        )


async def insert_traces(ch: ClickHouse, rows: list[TraceRow]) -> None:
    if rows:
        await ch.insert("traces", [as_values(r) for r in rows], TRACE_COLUMNS, "traces.insert")
