"""Writes to the observation, trace and score tables, and the existence check that makes them exactly-once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.write_rows import (
    OBSERVATION_COLUMNS,
    SCORE_COLUMNS,
    TRACE_COLUMNS,
    ObservationRow,
    ScoreRow,
    TraceRow,
    as_json_line,
    as_values,
)

# Every live observation of some traces within a time window, with the trace attributes it carries (its
# latest live version's): the exactly-once check (which of a flush's spans are stored) and the list of
# stored rows a change of their trace's attributes must rewrite, in one read.
_STORED_IN_TRACES = (
    "SELECT trace_id, id, argMaxIf(tuple(trace_name, user_id, session_id, tags, public, release, "
    "toString(environment)), row_version, sign = 1) AS carried FROM observations "
    "WHERE project_id = {project_id:String} "
    "AND start_time >= {start_min:DateTime64(6)} AND start_time <= {start_max:DateTime64(6)} "
    "AND trace_id IN {trace_ids:Array(String)} "
    "GROUP BY trace_id, id HAVING sum(sign) > 0 LIMIT {limit:UInt32}"
)
MAX_STORED_IN_TRACES = 1_000_000
# The observation columns that carry trace attributes, in the order of `carried` above.
CARRIED_COLUMNS = ("trace_name", "user_id", "session_id", "tags", "public", "release", "environment")


@dataclass(frozen=True, slots=True)
class StoredObservation:
    """A live stored observation: its key and the trace attributes it carries (attribution.CARRIED)."""

    key: tuple[str, str]
    carried: dict[str, object]


def compile_stored_in_traces_query(
    project_id: str, trace_ids: list[str], start_min: datetime, start_max: datetime
) -> CompiledQuery:
    """The live observations of these traces that start in [start_min, start_max]."""
    return CompiledQuery(
        sql=_STORED_IN_TRACES,
        parameters={
            "project_id": project_id,
            "trace_ids": trace_ids,
            "start_min": start_min,
            "start_max": start_max,
            "limit": MAX_STORED_IN_TRACES,
        },
        tag="observations.stored_in_traces",
    )


async def fetch_stored_in_traces(
    ch: ClickHouse, project_id: str, trace_ids: list[str], start_min: datetime, start_max: datetime
) -> list[StoredObservation]:
    """Live observations of these traces starting in [start_min, start_max], with what they carry."""
    if not trace_ids:
        return []
    rows = await ch.query(compile_stored_in_traces_query(project_id, trace_ids, start_min, start_max))
    return [
        StoredObservation(
            (str(r["trace_id"]), str(r["id"])),
            dict(zip(CARRIED_COLUMNS, cast(tuple[object, ...], r["carried"]), strict=True)),
        )
        for r in rows
    ]


async def fetch_existing_observation_keys(
    ch: ClickHouse, project_id: str, keys: list[tuple[str, str]], start_min: datetime, start_max: datetime
) -> set[tuple[str, str]]:
    """Which (trace_id, id) pairs, of observations starting in [start_min, start_max], are stored and live."""
    trace_ids = sorted({t for t, _ in keys})
    wanted = set(keys)
    stored = await fetch_stored_in_traces(ch, project_id, trace_ids, start_min, start_max)
    return {s.key for s in stored if s.key in wanted}


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
    "if(countIf(environment != 'default') > 0, "
    "argMaxIf(environment, event_ts, environment != 'default'), 'default') AS environment"
)
_TRACE_STATE = (
    "SELECT id, min(timestamp) AS first_seen, max(event_ts) AS last_event, "
    + FOLD_TRACE_ATTRIBUTES
    + ", groupUniqArrayArray(tags) AS tags, max(public) AS public "
    "FROM traces WHERE project_id = {project_id:String} AND timestamp >= {since:DateTime64(6)} "
    "AND id IN {ids:Array(String)} GROUP BY id LIMIT {limit:UInt32}"
)


async def fetch_trace_attributes(
    ch: ClickHouse, project_id: str, trace_ids: list[str], since: datetime
) -> dict[str, TraceRow]:
    """Stored trace-level attributes (folded over a trace's rows) for denormalising onto observations; the
    row's timestamp is the trace's first row time, its event_ts the newest row's."""
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
            event_ts=cast(datetime, _utc(r["last_event"])),
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
