"""Writes to the observation and trace tables, and the existence check that makes them exactly-once."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import cast

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.rows import (
    OBSERVATION_COLUMNS,
    SCORE_COLUMNS,
    TRACE_COLUMNS,
    ObservationRow,
    ScoreRow,
    TraceRow,
    as_json_line,
    as_values,
)

_EXISTING = (
    "SELECT trace_id, id FROM observations "
    "WHERE project_id = {project_id:String} "
    "AND start_time >= {start_min:DateTime64(6)} AND start_time <= {start_max:DateTime64(6)} "
    "AND trace_id IN {trace_ids:Array(String)} AND %s "
    "GROUP BY trace_id, id HAVING sum(sign) > 0 LIMIT {limit:UInt32}"
)
# OTLP span ids are 16 hex digits: bound as the numbers they spell, they skip the client's escaping of
# every character of every id (most of this query's cost at tens of thousands of ids). A stored id that
# is not hex may land on one of these numbers: such a row is returned and compared exactly by the caller.
_EXISTING_HEX = _EXISTING % "reinterpretAsUInt64(reverse(unhex(id))) IN {ids:Array(UInt64)}"
_EXISTING_ANY = _EXISTING % "id IN {ids:Array(String)}"
_HEX16 = re.compile(r"[0-9a-f]{16}")


def compile_existing_ids_query(
    project_id: str, ids: list[str], trace_ids: list[str], start_min: datetime, start_max: datetime
) -> CompiledQuery:
    """Which (trace_id, id) of these observations (starting in [start_min, start_max]) are stored, or may
    be (exactly these pairs, or others of the same traces whose ids share a span id's number)."""
    hex_ids = all(_HEX16.fullmatch(i) for i in ids)
    return CompiledQuery(
        sql=_EXISTING_HEX if hex_ids else _EXISTING_ANY,
        parameters={
            "project_id": project_id,
            "ids": [int(i, 16) for i in ids] if hex_ids else ids,
            "trace_ids": trace_ids,
            "start_min": start_min,
            "start_max": start_max,
            "limit": len(ids) * 2,
        },
        tag="observations.existing_ids",
    )


async def fetch_existing_observation_keys(
    ch: ClickHouse, project_id: str, keys: list[tuple[str, str]], start_min: datetime, start_max: datetime
) -> set[tuple[str, str]]:
    """Which (trace_id, id) pairs, of observations starting in [start_min, start_max], are stored and live
    (span ids are unique within a trace)."""
    if not keys:
        return set()
    ids = sorted({i for _, i in keys})
    trace_ids = sorted({t for t, _ in keys})
    q = compile_existing_ids_query(project_id, ids, trace_ids, start_min, start_max)
    wanted = set(keys)
    return {key for r in await ch.query(q) if (key := (str(r["trace_id"]), str(r["id"]))) in wanted}


async def insert_observations(ch: ClickHouse, rows: list[ObservationRow]) -> None:
    await insert_observation_lines(ch, [as_json_line(r) for r in rows])


async def insert_observation_lines(ch: ClickHouse, lines: list[bytes]) -> None:
    """Insert observation rows encoded by `as_json_line`."""
    if lines:
        await ch.insert_json_lines("observations", OBSERVATION_COLUMNS, lines, "observations.insert")


async def insert_scores(ch: ClickHouse, rows: list[ScoreRow]) -> None:
    if rows:
        await ch.insert("scores", [as_values(r) for r in rows], SCORE_COLUMNS, "scores.insert")


async def insert_traces(ch: ClickHouse, rows: list[TraceRow]) -> None:
    await insert_trace_lines(ch, [as_json_line(r) for r in rows])


async def insert_trace_lines(ch: ClickHouse, lines: list[bytes]) -> None:
    """Insert trace rows encoded by `as_json_line`."""
    if lines:
        await ch.insert_json_lines("traces", TRACE_COLUMNS, lines, "traces.insert")


_CURRENT_BY = (
    "SELECT {columns} FROM observations "
    "WHERE project_id = {{project_id:String}} AND start_time >= {{since:DateTime64(6)}} "
    "AND {key} IN {{keys:Array(String)}} AND sign = 1 "
    "ORDER BY row_version DESC LIMIT 1 BY trace_id, id LIMIT {{limit:UInt32}}"
)
_SELECT_COLUMNS = ", ".join(OBSERVATION_COLUMNS)
_CURRENT_BY_ID = _CURRENT_BY.format(columns=_SELECT_COLUMNS, key="id")
_CURRENT_BY_TRACE = _CURRENT_BY.format(columns=_SELECT_COLUMNS, key="trace_id")
MAX_CURRENT_ROWS = 10_000


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def fetch_current_observations(
    ch: ClickHouse,
    project_id: str,
    *,
    ids: list[str] | None = None,
    trace_ids: list[str] | None = None,
    since: datetime,
) -> list[ObservationRow]:
    """The current state (latest live version) of observations by id or by trace id, started since `since`."""
    keys = ids if ids is not None else trace_ids
    if not keys:
        return []
    q = CompiledQuery(
        sql=_CURRENT_BY_ID if ids is not None else _CURRENT_BY_TRACE,
        parameters={"project_id": project_id, "keys": keys, "since": since, "limit": MAX_CURRENT_ROWS},
        tag="observations.current",
    )
    rows = await ch.query(q)
    return [ObservationRow(**{k: _utc(v) for k, v in r.items()}) for r in rows]  # type: ignore[arg-type]


# A trace's attributes folded over its rows (each a partial update): the newest non-null value wins.
FOLD_TRACE_ATTRIBUTES = (
    "argMaxIf(name, event_ts, name IS NOT NULL) AS name, "
    "argMaxIf(user_id, event_ts, user_id IS NOT NULL) AS user_id, "
    "argMaxIf(session_id, event_ts, session_id IS NOT NULL) AS session_id, "
    "argMaxIf(release, event_ts, release IS NOT NULL) AS release, "
    "argMaxIf(version, event_ts, version IS NOT NULL) AS version, "
    "argMax(environment, event_ts) AS environment"
)
_TRACE_STATE = (
    "SELECT id, min(timestamp) AS first_seen, "
    + FOLD_TRACE_ATTRIBUTES
    + ", groupUniqArrayArray(tags) AS tags, max(public) AS public "
    "FROM traces WHERE project_id = {project_id:String} AND timestamp >= {since:DateTime64(6)} "
    "AND id IN {ids:Array(String)} GROUP BY id LIMIT {limit:UInt32}"
)


async def fetch_trace_attributes(
    ch: ClickHouse, project_id: str, trace_ids: list[str], since: datetime
) -> dict[str, TraceRow]:
    """Stored trace-level attributes (merged over a trace's rows) for denormalising onto observations."""
    if not trace_ids:
        return {}
    q = CompiledQuery(
        _TRACE_STATE,
        {"project_id": project_id, "ids": trace_ids, "since": since, "limit": len(trace_ids)},
        "traces.attributes",
    )
    out = {}
    for r in await ch.query(q):
        out[str(r["id"])] = TraceRow(
            project_id=project_id,
            id=str(r["id"]),
            timestamp=cast(datetime, _utc(r["first_seen"])),
            environment=str(r["environment"]),
            tags=sorted(str(t) for t in cast(list[object], r["tags"])),
            public=bool(r["public"]),
            name=_text(r["name"]),
            user_id=_text(r["user_id"]),
            session_id=_text(r["session_id"]),
            release=_text(r["release"]),
            version=_text(r["version"]),
        )
    return out


# Column names come from the row registry (code); every value is a bound parameter.
_SCORE_BY_ID = (  # noqa: S608
    "SELECT {columns} FROM scores WHERE project_id = {{project_id:String}} AND id = {{id:String}} "
    "ORDER BY event_ts DESC LIMIT 1"
).format(columns=", ".join(SCORE_COLUMNS))


async def fetch_score(ch: ClickHouse, project_id: str, score_id: str) -> ScoreRow | None:
    """The latest stored version of a score (deleted or not)."""
    q = CompiledQuery(_SCORE_BY_ID, {"project_id": project_id, "id": score_id}, "scores.by_id")
    rows = await ch.query(q)
    return ScoreRow(**{k: _utc(v) for k, v in rows[0].items()}) if rows else None  # type: ignore[arg-type]
